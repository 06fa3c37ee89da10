# SPDX-License-Identifier: Apache-2.0
# A .npy file under a .json name: the extension and the first bytes disagree.
cp samples/batch.npy batch.json
bnorm apply batch.json -o y.npy
