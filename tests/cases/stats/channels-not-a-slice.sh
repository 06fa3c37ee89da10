bnorm stats small.npy --channels a: --format csv
