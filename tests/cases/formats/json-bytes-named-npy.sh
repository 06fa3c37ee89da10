# SPDX-License-Identifier: Apache-2.0
cp samples/features.json features.npy
bnorm apply features.npy -o y.npy
