bnorm fold weight.json -o folded.json --bias-out bias.json
