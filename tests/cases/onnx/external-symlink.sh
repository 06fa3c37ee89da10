bnorm layers escape/link.onnx
