# SPDX-License-Identifier: Apache-2.0
bnorm stats --axis -1 m2.npy m3.npy
