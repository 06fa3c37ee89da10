# An empty file holds no table.
: > t.csv
bnorm stats t.csv
