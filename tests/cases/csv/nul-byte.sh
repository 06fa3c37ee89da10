# SPDX-License-Identifier: Apache-2.0
# A NUL byte is no text.
printf 'a,b\n1,2\0003\n' > t.csv
bnorm stats t.csv
