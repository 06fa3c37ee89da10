# SPDX-License-Identifier: Apache-2.0
# A batch has a sample axis and a channel axis at least.
bnorm apply rank-one.npy -o y.npy
