# SPDX-License-Identifier: Apache-2.0
printf "" > x.json
bnorm apply x.json -o y.npy
