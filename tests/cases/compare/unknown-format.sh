bnorm compare a.npy same.npy --format xml
