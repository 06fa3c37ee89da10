bnorm layers model.npz --gamma-threshold 1.5 --format csv
