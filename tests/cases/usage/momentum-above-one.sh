bnorm apply samples/batch.npy -o y.npy --momentum 1.5
