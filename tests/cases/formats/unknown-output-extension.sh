bnorm apply samples/batch.npy -o y.txt
