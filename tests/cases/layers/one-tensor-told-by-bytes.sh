cp samples/batch.npy model
bnorm layers model
