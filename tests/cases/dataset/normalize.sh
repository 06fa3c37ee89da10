bnorm stats b.npy a.npy --format normalize
