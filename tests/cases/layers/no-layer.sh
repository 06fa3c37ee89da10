bnorm layers samples/batches.npz
