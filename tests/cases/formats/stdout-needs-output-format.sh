bnorm apply samples/batch.npy -o -
