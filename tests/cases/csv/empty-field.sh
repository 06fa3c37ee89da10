# SPDX-License-Identifier: Apache-2.0
# An empty field is refused unless --missing nan is given.
printf 'a,b\n1,2\n3,\n' > t.csv
bnorm stats t.csv
