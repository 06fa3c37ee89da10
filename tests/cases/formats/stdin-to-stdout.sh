# SPDX-License-Identifier: Apache-2.0
# Named formats on both ends of a pipe.  With eps 0, channels [1, 3] and [10, 30] (mean 2 and
# 20, variance 1 and 100) normalize to [-1, 1] each.
printf "[[1, 10], [3, 30]]" | bnorm apply - --input-format json -o - --output-format json --eps 0
