# SPDX-License-Identifier: Apache-2.0
# fold takes no --missing: its message gives no advice naming it.
printf 'a,b,c\n1,2,3\n4,,6\n' > w.csv
bnorm fold w.csv --state samples/state.json --axis 1 -o o.csv --bias-out b.csv
