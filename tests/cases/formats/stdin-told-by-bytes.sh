# SPDX-License-Identifier: Apache-2.0
# Standard input says nothing of its format by name: its first bytes say .npy, and standard
# output takes its input's format.
bnorm apply samples/batch.npy -o expected.npy
bnorm apply - -o - < samples/batch.npy > y
cmp y expected.npy && echo same
