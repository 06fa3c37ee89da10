# SPDX-License-Identifier: Apache-2.0
# A UTF-8 byte order mark is refused, not skipped: the first name would hold it.
printf '\357\273\277a,b\n1,2\n' > t.csv
bnorm stats t.csv
