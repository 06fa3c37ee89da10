# SPDX-License-Identifier: Apache-2.0
# Two inputs that exist and no output: no hint to write over the second.
cp samples/batch.npy second.npy
bnorm apply samples/batch.npy second.npy
