# SPDX-License-Identifier: Apache-2.0
# Bytes no format begins under a .npy name: the .npy reader says what is wrong, and where.
printf '\223NUMPX\001\000v\000' > x.npy
bnorm stats x.npy
