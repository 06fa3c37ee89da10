# Written as it is today: issue #12 sniffs a name without an extension by its first bytes.
cp samples/batch.npy batch
bnorm apply batch -o y.npy
