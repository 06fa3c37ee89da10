# SPDX-License-Identifier: Apache-2.0
head -c 100 m.onnx > t.onnx
bnorm layers t.onnx
