bnorm apply two-by-three.npy -o y.npy --axis 2
