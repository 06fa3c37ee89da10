# SPDX-License-Identifier: Apache-2.0
# CLI11's own range check lets NaN through; bnorm must not.
bnorm apply samples/batch.npy -o y.npy --momentum nan
