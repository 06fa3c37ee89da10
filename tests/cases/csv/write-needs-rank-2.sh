# SPDX-License-Identifier: Apache-2.0
# A table holds a rank-2 tensor (rows, columns): a batch of images is refused before anything is written.
bnorm apply samples/batch.npy -o t.csv
