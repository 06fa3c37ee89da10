# SPDX-License-Identifier: Apache-2.0
# An empty file is not a .npy file.
bnorm apply empty.npy -o y.npy
