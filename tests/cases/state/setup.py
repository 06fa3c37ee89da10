# SPDX-License-Identifier: Apache-2.0
"""State dicts under the prefixes users have: DataParallel's module., Lightning's model., both
stacked, a prefix under two wrappers, and a model of twelve batch-norm layers (and one layer
with a running mean alone, which is no batch-norm layer).  A batch of 2 samples of 2 channels,
[1, 3] and [0, 4]: means 2 and 2, biased variances 1 and 4, exact in binary."""
import json
import struct

import numpy as np


def layer(prefix, count=7):
    return {prefix + "weight": np.ones(2, np.float32), prefix + "bias": np.zeros(2, np.float32),
            prefix + "running_mean": np.zeros(2, np.float32),
            prefix + "running_var": np.ones(2, np.float16),
            prefix + "num_batches_tracked": np.array(count, np.int64)}


def write_safetensors(path, tensors):
    names = {np.dtype(np.float32): "F32", np.dtype(np.float16): "F16",
             np.dtype(np.int64): "I64"}
    header, data = {"__metadata__": {"format": "pt"}}, b""
    for name, value in tensors.items():
        raw = value.tobytes()
        header[name] = {"dtype": names[value.dtype], "shape": list(value.shape),
                        "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)


np.save("x.npy", np.array([[1, 0], [3, 4]], np.float32))
conv = {"module.conv1.weight": np.arange(4, dtype=np.float32).reshape(2, 2)}
np.savez("ddp.npz", **conv, **layer("module.bn1."))
write_safetensors("lightning.safetensors", {"model.conv1.weight": conv["module.conv1.weight"],
                                            **layer("model.bn1.", 3)})
np.savez("stacked.npz", **layer("module.model.bn1."))
np.savez("two-wrappers.npz", **layer("module.bn1."), **layer("model.bn1."))
many = {}
for i in range(12):
    many.update(layer(f"layer{i}.bn."))
many["head.running_mean"] = np.zeros(2, np.float32)
np.savez("many.npz", **many)
np.savez("no-layer.npz", **{"fc.kernel": np.ones((2, 2), np.float32), "head.running_mean":
                            np.zeros(2, np.float32)})
# A layer in Keras's names, which count no batches.
np.savez("keras.npz", **{"bn.gamma": np.ones(2, np.float32), "bn.beta": np.zeros(2, np.float32),
                         "bn.moving_mean": np.zeros(2, np.float32),
                         "bn.moving_variance": np.ones(2, np.float32)})
