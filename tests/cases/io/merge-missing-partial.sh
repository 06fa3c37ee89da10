bnorm merge nothing.json -o merged.json
