bnorm stats small.npy --format csv
