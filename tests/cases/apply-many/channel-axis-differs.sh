# SPDX-License-Identifier: Apache-2.0
# The files are batches of one layer: every one has the first one's channel axis (as stats
# asks of a dataset), here 5 channels on axis 3, then 5 on axis 1.
printf '[[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]]' > rows.json
bnorm apply samples/batch.npy rows.json -o out/ --axis -1 --stats-out s.json
