bnorm stats a.npy -0
