# A .npy file under a .json name: read as JSON, its first byte is not.
cp samples/batch.npy batch.json
bnorm apply batch.json -o y.npy
