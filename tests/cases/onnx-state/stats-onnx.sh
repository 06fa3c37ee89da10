bnorm apply x.npy --state m.onnx --state-prefix bn --convention onnx -o y.json --stats-out s.json
cat s.json
