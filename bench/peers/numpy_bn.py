# SPDX-License-Identifier: Apache-2.0
"""The NumPy one-liner bnorm replaces: load, per-channel mean and variance over axes 0, 2, 3
in float64, normalize, save.  Train mode, PyTorch's defaults (eps 1e-5, no affine change)."""
import sys

import numpy as np

x = np.load(sys.argv[1])
axes = tuple(d for d in range(x.ndim) if d != 1)
x64 = x.astype(np.float64)
mean = x64.mean(axis=axes, keepdims=True)
var = x64.var(axis=axes, keepdims=True)
np.save(sys.argv[2], ((x64 - mean) / np.sqrt(var + 1e-5)).astype(x.dtype))
