bnorm layers escape/absolute.onnx
