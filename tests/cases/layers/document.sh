bnorm layers samples/state.json
