bnorm compare a.npy one-off.npy
