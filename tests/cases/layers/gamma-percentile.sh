bnorm layers model.npz --gamma-percentile 50 --format table
