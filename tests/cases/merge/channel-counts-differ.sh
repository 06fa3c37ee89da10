bnorm merge shard1.partial.json three-channels.partial.json -o -
