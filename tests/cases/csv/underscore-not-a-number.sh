# SPDX-License-Identifier: Apache-2.0
# Python's float() reads 1_000; a table's numbers have no underscores.
printf 'a\n1_000\n' > t.csv
bnorm stats t.csv
