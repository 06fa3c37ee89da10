bnorm stats small.npy --format table
