# SPDX-License-Identifier: Apache-2.0
# An output under the folder may not overwrite an input.
cp samples/batch.npy b.npy
bnorm apply b.npy samples/features.json -o ./
