bnorm apply samples/batch.npy -o y.npy --axis 1.5
