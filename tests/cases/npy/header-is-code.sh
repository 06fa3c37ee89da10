# SPDX-License-Identifier: Apache-2.0
# The header is parsed as a literal, never evaluated.
bnorm apply header-is-code.npy -o y.npy
