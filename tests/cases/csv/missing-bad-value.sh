# SPDX-License-Identifier: Apache-2.0
# --missing takes error or nan.
printf 'a\n1\n' > t.csv
bnorm stats t.csv --missing zero
