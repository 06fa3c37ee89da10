# SPDX-License-Identifier: Apache-2.0
# An extension no format has says nothing: the first bytes do.
cp samples/batch.npy batch.txt
bnorm apply batch.txt -o y.npy
bnorm apply samples/batch.npy -o expected.npy
cmp y.npy expected.npy && echo same
