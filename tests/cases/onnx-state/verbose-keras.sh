# SPDX-License-Identifier: Apache-2.0
bnorm apply x.npy --state m.onnx --state-prefix bn --mode train --convention keras --axis 1 --verbose -o y.npy
