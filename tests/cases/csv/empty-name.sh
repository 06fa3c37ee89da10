# SPDX-License-Identifier: Apache-2.0
# Every column of a header has a name.
printf 'a,,c\n1,2,3\n' > t.csv
bnorm stats t.csv
