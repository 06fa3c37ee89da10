# SPDX-License-Identifier: Apache-2.0
# 8 bytes after the data the header describes.
bnorm apply trailing.npy -o y.npy
