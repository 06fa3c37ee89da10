# SPDX-License-Identifier: Apache-2.0
# After a quoted field's closing quote comes a separator or a line end.
printf 'a,b\n1,"2"3\n' > t.csv
bnorm stats t.csv
