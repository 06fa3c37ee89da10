# SPDX-License-Identifier: Apache-2.0
bnorm apply x.npy -o y.npy --state two-wrappers.npz --state-prefix bn1. --stats-out two-wrappers.npz
