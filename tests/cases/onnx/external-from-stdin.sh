bnorm layers - < ext/m.onnx
