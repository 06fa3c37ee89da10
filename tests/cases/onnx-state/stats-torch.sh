# SPDX-License-Identifier: Apache-2.0
bnorm apply x.npy --state m.onnx --state-prefix bn --mode train -o y.json --stats-out s.json
cat y.json s.json
