# SPDX-License-Identifier: Apache-2.0
printf "{\"weight\": [1, 1, 1],\n  \"bias\": [0, 0, 0}" > state.json
bnorm apply samples/batch.npy -o y.npy --state state.json --stats-out stats.json
