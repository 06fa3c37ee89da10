# SPDX-License-Identifier: Apache-2.0
# compare names a table's column beside each index, by the header of either file.
printf 'x,y\n1,2\n3,4\n' > a.csv
printf '1,2\n3,4.5\n' > b.csv
bnorm compare a.csv b.csv
