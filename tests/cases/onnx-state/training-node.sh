bnorm apply x.npy --state t.onnx --state-prefix bn --verbose -o y.npy
