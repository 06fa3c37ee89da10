# SPDX-License-Identifier: Apache-2.0
bnorm apply x.npy --state one.onnx --state-prefix bn_a --mode eval -o y.npy
