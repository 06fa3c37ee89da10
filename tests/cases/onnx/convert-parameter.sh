# SPDX-License-Identifier: Apache-2.0
bnorm convert m.onnx --tensor y2.running_var - --output-format json
