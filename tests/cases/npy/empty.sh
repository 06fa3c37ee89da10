# An empty file is not a .npy file.
bnorm apply empty.npy -o y.npy
