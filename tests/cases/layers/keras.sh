bnorm layers keras.npz --format table
