bnorm stats a.npy b.npy --per-sample --partial
