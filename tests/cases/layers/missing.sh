bnorm layers missing.npz
