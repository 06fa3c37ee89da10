head -c 100 m.onnx > t.onnx
bnorm layers t.onnx
