bnorm apply samples/batch.npy -o y.npy --state gone.json
