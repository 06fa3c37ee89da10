bnorm convert m.onnx weight --tensor bn1.weight
