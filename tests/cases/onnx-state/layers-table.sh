bnorm layers m.onnx --format table
