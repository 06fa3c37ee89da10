bnorm apply nothing.npy -o y.npy
