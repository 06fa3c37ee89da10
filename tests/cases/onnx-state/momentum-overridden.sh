bnorm apply x.npy --state m.onnx --state-prefix bn --momentum 0.5 -o y.npy
