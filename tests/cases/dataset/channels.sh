bnorm stats a.npy b.npy --channels 1: --format csv
