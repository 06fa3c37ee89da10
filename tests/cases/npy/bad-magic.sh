# A ZIP archive named .npy: the magic string is checked at byte 0.
bnorm apply zip-magic.npy -o y.npy
