# SPDX-License-Identifier: Apache-2.0
# The header length promises more bytes than the file holds.
bnorm apply header-past-end.npy -o y.npy
