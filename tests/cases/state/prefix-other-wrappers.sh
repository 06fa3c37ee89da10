# SPDX-License-Identifier: Apache-2.0
bnorm apply x.npy -o y.npy --mode eval --state two-wrappers.npz --state-prefix conv.
