# SPDX-License-Identifier: Apache-2.0
"""A dataset of two float32 files whose statistics are exact in binary: a.npy (2, 3, 2) and
b.npy (1, 3, 2); together channel 0 holds 0, 4, 0, 4, 4, 0 (mean 2, var 4, var_unbiased 4.8),
channel 1 six 1s, channel 2 -2, 2, 2, -2, 2, -2 (mean 0, var 4).  Files that disagree with
them: four.npy (4 channels), ints.npy (int32), and m2.npy (2, 3) and m3.npy (2, 2, 3), whose
last axes agree but are not the same axis.  empty/ holds nothing."""
import os

import numpy as np

a = np.array([[[0, 4], [1, 1], [-2, 2]], [[0, 4], [1, 1], [2, -2]]], np.float32)
b = np.array([[[4, 0], [1, 1], [2, -2]]], np.float32)
np.save("a.npy", a)
np.save("b.npy", b)
np.save("four.npy", np.zeros((2, 4), np.float32))
np.save("ints.npy", np.zeros((1, 3, 2), np.int32))
np.save("m2.npy", np.zeros((2, 3), np.float32))
np.save("m3.npy", np.zeros((2, 2, 3), np.float32))
os.mkdir("empty")
