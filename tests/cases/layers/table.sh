bnorm layers model.npz --format table
