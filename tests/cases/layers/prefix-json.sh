bnorm layers model.npz --prefix bn2. --format json
