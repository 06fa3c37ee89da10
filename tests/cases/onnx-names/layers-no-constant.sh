bnorm layers inputs.onnx
