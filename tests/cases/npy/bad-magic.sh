# SPDX-License-Identifier: Apache-2.0
# A ZIP archive named .npy: the name and the first bytes disagree.
bnorm apply zip-magic.npy -o y.npy
