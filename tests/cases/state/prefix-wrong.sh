# SPDX-License-Identifier: Apache-2.0
bnorm apply x.npy -o y.npy --mode eval --state many.npz --state-prefix layer1.bn1.
