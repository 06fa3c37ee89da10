bnorm stats a.npy b.npy --per-sample --format csv
