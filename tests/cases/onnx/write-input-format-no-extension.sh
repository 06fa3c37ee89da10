# SPDX-License-Identifier: Apache-2.0
bnorm convert m.onnx weight --tensor bn1.weight
