bnorm layers samples/batch.npy
