bnorm stats samples/batch.npy --partial --format csv
