# SPDX-License-Identifier: Apache-2.0
# CLI11 alone would read 010 as 8; bnorm reads 10, outside rank 4: invalid data, not usage.
bnorm apply samples/batch.npy -o y.npy --axis 010
