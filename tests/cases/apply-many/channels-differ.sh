# SPDX-License-Identifier: Apache-2.0
# The files are batches of one layer: every one has the first one's channels.
bnorm apply samples/batch.npy samples/features.json -o out/ --axis -1
