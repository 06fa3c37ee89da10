# SPDX-License-Identifier: Apache-2.0
head -c 100 samples/conv_bn.onnx > cut.onnx
bnorm fold cut.onnx -o folded.onnx
