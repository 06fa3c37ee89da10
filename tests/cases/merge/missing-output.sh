bnorm merge shard1.partial.json
