bnorm layers lone.npz --prefix '' --format table
bnorm layers lone.npz --format csv
