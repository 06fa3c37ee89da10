bnorm apply samples/batch.npy -o no/such/dir/y.npy
