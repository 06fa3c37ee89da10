bnorm compare samples/state.json samples/state.json
