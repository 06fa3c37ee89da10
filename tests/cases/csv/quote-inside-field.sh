# SPDX-License-Identifier: Apache-2.0
# A quote may only begin a field (RFC 4180).
printf 'a,b\n1,2"\n' > t.csv
bnorm stats t.csv
