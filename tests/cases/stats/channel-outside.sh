bnorm stats small.npy --channels 3 --format csv
