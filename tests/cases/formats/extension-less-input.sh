# SPDX-License-Identifier: Apache-2.0
# A name without an extension is told by its first bytes, and the output named so too takes
# its input's format.
cp samples/batch.npy batch
bnorm apply batch -o y
bnorm apply samples/batch.npy -o expected.npy
cmp y expected.npy && echo same
