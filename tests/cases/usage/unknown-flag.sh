# SPDX-License-Identifier: Apache-2.0
bnorm apply samples/batch.npy -o y.npy --frobnicate
