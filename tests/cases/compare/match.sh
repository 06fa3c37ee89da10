bnorm compare a.npy same.npy
