bnorm apply samples/batch.npy -o y.npy --mode eval
