bnorm layers m.onnx --format csv | cut -d, -f1-3
