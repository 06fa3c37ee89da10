bnorm stats a.npy ints.npy
