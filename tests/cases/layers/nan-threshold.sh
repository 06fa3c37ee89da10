bnorm layers model.npz --gamma-threshold nan
