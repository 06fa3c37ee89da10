#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Writes the small inputs the examples of the README and docs/ run on.  Deterministic:
rerunning it reproduces the committed files byte for byte.  Run with Debian's /usr/bin/python3
(NumPy)."""
import json
import pathlib

import numpy as np

here = pathlib.Path(__file__).resolve().parent
rng = np.random.default_rng(2024)

# A BatchNorm2d-shaped batch: 4 images, 3 channels, 5x5, each channel with its own offset and
# scale so that normalization visibly changes it.
batch = rng.normal(size=(4, 3, 5, 5)) * np.array([1.0, 4.0, 0.5])[None, :, None, None]
batch += np.array([2.0, -10.0, 0.25])[None, :, None, None]
np.save(here / "batch.npy", batch.astype(np.float32))

# The same kind of batch, small enough to read as JSON: 4 samples of 3 features (BatchNorm1d).
features = np.round(rng.normal(size=(4, 3)) * [1, 10, 100] + [0, 5, 50], 2)
(here / "features.json").write_text(json.dumps(features.tolist()) + "\n")

# A trained layer's state for the 3 channels, as PyTorch names it.
state = {
    "weight": [1.5, 0.5, 1.0],
    "bias": [0.0, 1.0, -1.0],
    "running_mean": [2.0, -10.0, 0.25],
    "running_var": [1.0, 16.0, 0.25],
    "num_batches_tracked": 100,
}
lines = [f'  "{key}": {json.dumps(value)}' for key, value in state.items()]
(here / "state.json").write_text("{\n" + ",\n".join(lines) + "\n}\n")

# Two batches in one .npz, laid out as np.savez writes them (stored .npy members, ZIP64 local
# fields) but with a fixed timestamp, so that the file is reproducible.
import io
import zipfile


def npy_bytes(array):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array)
    return buffer.getvalue()


with zipfile.ZipFile(here / "batches.npz", "w", zipfile.ZIP_STORED) as archive:
    for name, array in (("train", batch.astype(np.float32)),
                        ("val", rng.normal(size=(2, 3, 5, 5)).astype(np.float32))):
        info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
        with archive.open(info, "w", force_zip64=True) as member:
            member.write(npy_bytes(array))

# A model's state_dict as the safetensors library writes it (8-byte header length, JSON header
# padded with spaces to a multiple of 8, tensors by decreasing dtype alignment then name): a
# convolution and two BatchNorm2d layers of 3 channels under PyTorch's names.
import struct

tensors = {"layer1.0.conv1.weight": rng.normal(size=(3, 3, 1, 1)).astype(np.float32)}
for layer, scale in (("layer1.0.bn1.", 1.0), ("layer1.0.bn2.", 2.0)):
    tensors[layer + "weight"] = np.array(state["weight"], np.float32) * np.float32(scale)
    tensors[layer + "bias"] = np.array(state["bias"], np.float32)
    tensors[layer + "running_mean"] = np.array(state["running_mean"], np.float32)
    tensors[layer + "running_var"] = np.array(state["running_var"], np.float32)
    tensors[layer + "num_batches_tracked"] = np.array(100, np.int64)
order = sorted(tensors, key=lambda name: (tensors[name].dtype != np.int64, name))
header, data = {}, b""
for name in order:
    raw = tensors[name].tobytes()
    header[name] = {"dtype": "I64" if tensors[name].dtype == np.int64 else "F32",
                    "shape": list(tensors[name].shape),
                    "data_offsets": [len(data), len(data) + len(raw)]}
    data += raw
text = json.dumps(header, separators=(",", ":")).encode()
text += b" " * ((8 - len(text) % 8) % 8)
(here / "model.safetensors").write_bytes(struct.pack("<Q", len(text)) + text + data)
