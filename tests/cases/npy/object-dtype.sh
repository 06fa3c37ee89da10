# SPDX-License-Identifier: Apache-2.0
bnorm apply object.npy -o y.npy
