# SPDX-License-Identifier: Apache-2.0
# The model on standard output, so its report on standard error; the folded model refolds to nothing.
bnorm fold - -o - < samples/conv_bn.onnx > folded.onnx
bnorm fold folded.onnx
