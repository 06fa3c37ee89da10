bnorm convert samples/batch.npy y.npy --dtype float8
