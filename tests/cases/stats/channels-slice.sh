bnorm stats small.npy --channels ::-2 --format csv
