# SPDX-License-Identifier: Apache-2.0
# Versions 1.0, 2.0 and 3.0 exist; byte 6 holds the major version.
bnorm apply version-9.npy -o y.npy
