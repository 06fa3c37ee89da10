bnorm fold names.onnx --format json
