bnorm compare samples/state.json other-state.json
