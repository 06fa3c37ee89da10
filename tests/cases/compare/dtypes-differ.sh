# SPDX-License-Identifier: Apache-2.0
# The values match, the types do not: a difference (exit 1).
bnorm compare a.npy a-float64.npy
