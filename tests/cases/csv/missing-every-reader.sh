# SPDX-License-Identifier: Apache-2.0
# --missing nan reaches the reader of every subcommand that takes it, on each of its routes:
# one file, many files to a folder, --no-output, both of compare's files, stats of many.
printf 'a,b\n1,\n3,4\n' > t.csv
cp t.csv u.csv
bnorm convert t.csv t.json --missing nan
cat t.json
bnorm apply t.csv -o y.csv --missing nan
bnorm apply t.csv u.csv -o out/ --missing nan
bnorm apply t.csv u.csv --no-output --stats-out s.json --missing nan
bnorm compare t.csv u.csv --missing nan --equal-nan
bnorm stats t.csv u.csv --missing nan --format csv
