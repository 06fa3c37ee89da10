# SPDX-License-Identifier: Apache-2.0
bnorm convert m.onnx - --tensor bn1.weight
