# SPDX-License-Identifier: Apache-2.0
# Every row has as many fields as the first.
printf 'a,b,c\n1,2,3\n4,5\n' > t.csv
bnorm stats t.csv
