# SPDX-License-Identifier: Apache-2.0
bnorm apply x.npy --state m.onnx --state-prefix bn --mode train --momentum 0.5 -o y.npy
