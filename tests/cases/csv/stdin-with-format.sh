# SPDX-License-Identifier: Apache-2.0
# With --input-format csv, standard input is read as a table, here in CRLF lines.
printf 'a,b\r\n1,2\r\n3,6\r\n' | bnorm stats - --input-format csv --format csv
