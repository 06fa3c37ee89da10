# SPDX-License-Identifier: Apache-2.0
printf "{\"weight\": [1, 2]}" > state.json
bnorm apply samples/batch.npy -o y.npy --state state.json --stats-out stats.json
