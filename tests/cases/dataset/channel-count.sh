bnorm stats a.npy four.npy
