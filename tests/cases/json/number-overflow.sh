# SPDX-License-Identifier: Apache-2.0
printf "[[1, 2], [3, 1e400]]" > x.json
bnorm apply x.json -o y.npy
