# SPDX-License-Identifier: Apache-2.0
# From a pipe the size is unknown: refused once the bytes run out, not by allocating first.
cat huge-shape.npy | bnorm apply - --input-format npy -o y.npy
