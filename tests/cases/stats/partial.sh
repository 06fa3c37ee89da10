bnorm stats small.npy --partial
