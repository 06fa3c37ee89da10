cp samples/batch.npy batch.txt
bnorm apply batch.txt -o y.npy
