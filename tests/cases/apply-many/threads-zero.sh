# SPDX-License-Identifier: Apache-2.0
# --threads counts files run at once: at least 1.
bnorm apply samples/batch.npy -o out/ -j 0
