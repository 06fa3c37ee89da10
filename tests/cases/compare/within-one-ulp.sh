bnorm compare a.npy one-ulp.npy --ulp 1
