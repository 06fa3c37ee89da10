# SPDX-License-Identifier: Apache-2.0
# --missing nan reads an empty field (or one of spaces) as NaN, which stats counts as nonfinite.
printf 'a,b\n1,\n3,4\n5,  \n' > t.csv
bnorm stats t.csv --missing nan --format csv
