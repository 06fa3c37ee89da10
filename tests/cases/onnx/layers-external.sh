bnorm layers ext/m.onnx --format csv | cut -d, -f1-3
