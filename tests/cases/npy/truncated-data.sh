# SPDX-License-Identifier: Apache-2.0
# 4 bytes of a (2, 3) float32 array are missing.
bnorm apply truncated.npy -o y.npy
