bnorm apply complex.npy -o y.npy
