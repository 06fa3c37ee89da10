bnorm layers model.npz --format csv
