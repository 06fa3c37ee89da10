# SPDX-License-Identifier: Apache-2.0
# A quoted field that never ends is reported where it begins.
printf 'a,b\n1,"2\n3,4\n' > t.csv
bnorm stats t.csv
