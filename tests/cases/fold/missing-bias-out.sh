bnorm fold weight.json --state state.json -o folded.json
