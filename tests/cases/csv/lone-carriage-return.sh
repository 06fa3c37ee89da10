# SPDX-License-Identifier: Apache-2.0
# Lines end with LF or CRLF; a CR alone is refused.
printf 'a,b\n1,2\r3,4\n' > t.csv
bnorm stats t.csv
