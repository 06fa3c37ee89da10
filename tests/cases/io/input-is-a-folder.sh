# SPDX-License-Identifier: Apache-2.0
mkdir d.npy
bnorm apply d.npy -o y.npy
