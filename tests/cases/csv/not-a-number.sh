# SPDX-License-Identifier: Apache-2.0
# Every field below the header is a number; the message gives its line and column.
printf 'a,b\n1,2\n3,4x\n' > t.csv
bnorm stats t.csv
