bnorm layers mismatch.npz --gamma-percentile 50
