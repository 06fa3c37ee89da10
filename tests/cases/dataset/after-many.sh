bnorm stats a.npy b.npy --after --plot p.svg
