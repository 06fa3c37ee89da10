# SPDX-License-Identifier: Apache-2.0
# A header with no rows below it is no table.
printf 'a,b\n' > t.csv
bnorm stats t.csv
