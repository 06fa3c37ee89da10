bnorm layers names.onnx --format csv | cut -d, -f1-3
