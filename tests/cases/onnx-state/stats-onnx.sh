# SPDX-License-Identifier: Apache-2.0
bnorm apply x.npy --state m.onnx --state-prefix bn --mode train --convention onnx -o y.json --stats-out s.json
cat s.json
