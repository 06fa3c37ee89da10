# SPDX-License-Identifier: Apache-2.0
bnorm apply x.npy --state m.onnx --state-prefix bn --mode eval --eps 0.5 -o y.json
cat y.json
