printf "" > x.json
bnorm apply x.json -o y.npy
