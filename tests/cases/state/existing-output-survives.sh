# SPDX-License-Identifier: Apache-2.0
# A state that does not fit fails the run after -o was opened: y.npy keeps its bytes.
printf precious > y.npy
printf "{\"weight\": [1, 1]}" > state.json
status=0
bnorm apply samples/batch.npy -o y.npy --state state.json || status=$?
cat y.npy
exit $status
