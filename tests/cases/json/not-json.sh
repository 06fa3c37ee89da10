# SPDX-License-Identifier: Apache-2.0
printf "[[1, 2], [3, 4]" > x.json
bnorm apply x.json -o y.npy
