bnorm compare a.npy one-off.npy --format json
