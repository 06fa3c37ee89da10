# SPDX-License-Identifier: Apache-2.0
printf "{\"bias\": [0, \"a\", 0]}" > state.json
bnorm apply samples/batch.npy -o y.npy --state state.json --stats-out stats.json
