bnorm layers model.npz --gamma-threshold -1
