bnorm layers model.npz --prefix bn3.
