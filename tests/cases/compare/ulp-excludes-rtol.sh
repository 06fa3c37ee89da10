bnorm compare a.npy one-off.npy --ulp 1 --rtol 1
