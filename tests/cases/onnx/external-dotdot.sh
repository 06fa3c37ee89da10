bnorm layers escape/dotdot.onnx
