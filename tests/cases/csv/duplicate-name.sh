# SPDX-License-Identifier: Apache-2.0
# The header's names are distinct: each names one channel.
printf 'a,b,a\n1,2,3\n' > t.csv
bnorm stats t.csv
