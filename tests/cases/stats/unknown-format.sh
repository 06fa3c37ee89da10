bnorm stats small.npy --format xml
