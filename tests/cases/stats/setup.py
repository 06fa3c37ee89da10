# SPDX-License-Identifier: Apache-2.0
"""A batch whose statistics are exact in binary, the whole batch's too (16 values): channels
[1, 3, 5, 7], [0, 0, 0, 0], [-2, 4, -2, 4] and [2, 2, 2, 2]; means 4, 0, 1, 2 and 1.75,
variances 5, 0, 9, 0 and 91/16."""
import numpy as np

np.save("small.npy", np.array([[1, 0, -2, 2], [3, 0, 4, 2], [5, 0, -2, 2], [7, 0, 4, 2]],
                              np.float32))
