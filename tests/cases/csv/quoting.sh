# SPDX-License-Identifier: Apache-2.0
# Quoted fields hold separators, quotes and newlines; numbers may be quoted, signed, spaced and spelled as Python's float() reads them.
printf '"a,1","b ""2"""\r\n"1", +2\r\n-1.5e0 ,inf\r\n' > t.csv
bnorm stats t.csv --format csv
