mkdir d.npy
bnorm apply d.npy -o y.npy
