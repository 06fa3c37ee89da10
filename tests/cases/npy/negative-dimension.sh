# SPDX-License-Identifier: Apache-2.0
bnorm apply negative-dimension.npy -o y.npy
