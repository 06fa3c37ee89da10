bnorm layers m.onnx --format json --prefix plain
