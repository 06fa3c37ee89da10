cp samples/features.json features.npy
bnorm apply features.npy -o y.npy
