bnorm layers model.npz --prefix bn1 --format table
