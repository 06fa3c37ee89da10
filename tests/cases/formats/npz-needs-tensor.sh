bnorm stats samples/batches.npz --format csv
