bnorm apply x.npy --state m.onnx --state-prefix bn --momentum none -o y.npy
