bnorm layers model.npz --format xml
