bnorm stats a.npy b.npy
