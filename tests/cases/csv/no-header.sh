# SPDX-License-Identifier: Apache-2.0
# A first row of numbers is data: the table has no header, and its first line is row 0.
printf '1,2\n3,4\n' > t.csv
bnorm stats t.csv --format csv
