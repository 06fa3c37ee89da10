bnorm convert samples/batch.npy one.pt
bnorm layers one.pt
