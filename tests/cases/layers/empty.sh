bnorm layers empty.npz
