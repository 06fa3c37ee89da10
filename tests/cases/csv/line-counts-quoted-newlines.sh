# SPDX-License-Identifier: Apache-2.0
# Lines are counted as an editor shows them: a quoted name's newline is one.
printf 'a,"b\nc"\n1,2\n3,y\n' > t.csv
bnorm stats t.csv
