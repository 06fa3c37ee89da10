bnorm compare a.npy one-off.npy --atol 0.5
