bnorm apply samples/batch.npy
