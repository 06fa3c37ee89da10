# --no-output and -o contradict each other.
bnorm apply samples/batch.npy --no-output -o out/ --stats-out s.json
