# SPDX-License-Identifier: Apache-2.0
# --no-output and -o contradict each other.
bnorm apply samples/batch.npy --no-output -o out/ --stats-out s.json
