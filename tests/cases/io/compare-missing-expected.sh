bnorm compare samples/batch.npy nothing.npy
