bnorm apply - -o y.npy < samples/batch.npy
