bnorm apply x.npy -o y.npy --mode eval --state two-wrappers.npz --state-prefix conv.
