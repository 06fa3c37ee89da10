bnorm stats small.npy --format json
