bnorm stats samples/batches.npz --tensor nope --format csv
