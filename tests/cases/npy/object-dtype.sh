bnorm apply object.npy -o y.npy
