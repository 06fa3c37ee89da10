# SPDX-License-Identifier: Apache-2.0
# 2^62 x 4 elements overflow a 64-bit count.
bnorm apply too-large-to-address.npy -o y.npy
