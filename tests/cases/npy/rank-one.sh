# A batch has a sample axis and a channel axis at least.
bnorm apply rank-one.npy -o y.npy
