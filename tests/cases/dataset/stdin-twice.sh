bnorm stats - a.npy -
