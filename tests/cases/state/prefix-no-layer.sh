bnorm apply x.npy -o y.npy --mode eval --state no-layer.npz --state-prefix bn1.
