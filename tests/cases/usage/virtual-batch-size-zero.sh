bnorm apply samples/batch.npy -o y.npy --virtual-batch-size 0
