# SPDX-License-Identifier: Apache-2.0
bnorm apply samples/batch.npy -o y.npy --state m.onnx --state-prefix bn1 --stats-out s.onnx
