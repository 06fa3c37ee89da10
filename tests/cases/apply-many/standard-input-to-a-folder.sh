# SPDX-License-Identifier: Apache-2.0
# Standard input has no name to write under a folder.
bnorm apply - samples/batch.npy -o out/ < samples/batch.npy
