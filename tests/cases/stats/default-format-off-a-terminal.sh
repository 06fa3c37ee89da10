# Standard output is a pipe here, so the default is JSON.
bnorm stats small.npy
