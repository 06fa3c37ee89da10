# SPDX-License-Identifier: Apache-2.0
# 2^61 float32 values claimed by a 152-byte file: refused by size, before allocating.
bnorm apply huge-shape.npy -o y.npy
