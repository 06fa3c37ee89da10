# SPDX-License-Identifier: Apache-2.0
# PyTorch refuses to train on one value per channel; so does the torch convention.
bnorm apply one-sample.npy -o y.npy
