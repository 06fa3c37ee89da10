bnorm layers model.npz --gamma-percentile 101
