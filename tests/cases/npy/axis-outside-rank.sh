# SPDX-License-Identifier: Apache-2.0
bnorm apply two-by-three.npy -o y.npy --axis 2
