bnorm convert m.onnx - --tensor bn1.weight
