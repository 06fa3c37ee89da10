#!/usr/bin/python3
"""Writes the small inputs the README's examples run on.  Deterministic: rerunning it
reproduces the committed files byte for byte.  Run with Debian's /usr/bin/python3 (NumPy)."""
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
