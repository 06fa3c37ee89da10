bnorm compare a.npy wide.npy
