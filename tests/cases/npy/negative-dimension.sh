bnorm apply negative-dimension.npy -o y.npy
