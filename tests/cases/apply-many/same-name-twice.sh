# SPDX-License-Identifier: Apache-2.0
# Two inputs of one name would both be written as out/batch.npy: refused before any is read.
mkdir a b
cp samples/batch.npy a/
cp samples/batch.npy b/
bnorm apply a/batch.npy b/batch.npy -o out/
