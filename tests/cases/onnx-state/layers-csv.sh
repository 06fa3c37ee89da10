bnorm layers m.onnx --format csv
