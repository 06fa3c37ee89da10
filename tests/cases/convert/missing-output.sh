bnorm convert samples/batch.npy
