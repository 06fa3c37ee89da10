# SPDX-License-Identifier: Apache-2.0
# Statistics of some channels only are refused by --batch-stats.
bnorm stats samples/batch.npy --format json --channels 0:2 > some.json
bnorm apply samples/batch.npy -o out.npy --batch-stats some.json
