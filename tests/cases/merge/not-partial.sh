bnorm merge shard1.partial.json samples/state.json -o -
