bnorm fold names.onnx
