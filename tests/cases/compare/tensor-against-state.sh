bnorm compare a.npy samples/state.json
