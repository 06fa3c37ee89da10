mkdir folder.npz
bnorm layers folder.npz
