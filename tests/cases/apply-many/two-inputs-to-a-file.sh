# SPDX-License-Identifier: Apache-2.0
# Many inputs are written under a folder, never into one file.
bnorm apply samples/batch.npy samples/features.json -o out.npy
