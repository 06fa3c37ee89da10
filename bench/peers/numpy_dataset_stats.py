# SPDX-License-Identifier: Apache-2.0
"""The NumPy loop a dataset's statistics are computed with today (issue #15's baseline): every
.npy file of a folder loaded in turn, per-channel sums and sums of squares over axes 0, 2, 3
accumulated in float64; prints the pooled mean and biased std."""
import pathlib
import sys

import numpy as np

total = total_sq = None
count = 0
for path in sorted(pathlib.Path(sys.argv[1]).glob("*.npy")):
    x = np.load(path).astype(np.float64)
    axes = tuple(d for d in range(x.ndim) if d != 1)
    s, sq = x.sum(axis=axes), np.square(x).sum(axis=axes)
    total, total_sq = (s, sq) if total is None else (total + s, total_sq + sq)
    count += x.size // x.shape[1]
mean = total / count
print(mean, np.sqrt(total_sq / count - mean * mean))
