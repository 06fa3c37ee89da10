# SPDX-License-Identifier: Apache-2.0
bnorm apply nothing.npy -o y.npy
