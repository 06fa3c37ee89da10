bnorm stats --axis -1 m2.npy m3.npy
