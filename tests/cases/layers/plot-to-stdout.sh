bnorm layers model.npz --plot -
