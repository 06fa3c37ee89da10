# SPDX-License-Identifier: Apache-2.0
bnorm fold samples/conv_bn.onnx -o folded.onnx --state state.json
