bnorm convert samples/batch.npy y.onnx
