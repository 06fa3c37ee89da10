# SPDX-License-Identifier: Apache-2.0
"""The JSON path in Python: json.load, NumPy train-mode normalization over axis 0 (channels
last of an (N, C) tensor), json.dump."""
import json
import sys

import numpy as np

with open(sys.argv[1]) as f:
    x = np.array(json.load(f), dtype=np.float64)
axes = tuple(d for d in range(x.ndim) if d != 1)
y = (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(x.var(axis=axes, keepdims=True) + 1e-5)
with open(sys.argv[2], "w") as f:
    json.dump(y.tolist(), f)
