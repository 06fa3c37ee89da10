bnorm backward x.json -o dx.json
