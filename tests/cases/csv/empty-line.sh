# SPDX-License-Identifier: Apache-2.0
# An empty line in a table of several columns is no row.
printf 'a,b\n1,2\n\n3,4\n' > t.csv
bnorm stats t.csv
