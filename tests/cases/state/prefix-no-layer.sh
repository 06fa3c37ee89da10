# SPDX-License-Identifier: Apache-2.0
bnorm apply x.npy -o y.npy --mode eval --state no-layer.npz --state-prefix bn1.
