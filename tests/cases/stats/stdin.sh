# SPDX-License-Identifier: Apache-2.0
# The statistics of standard input name it <stdin>.
bnorm stats - --input-format npy --format csv < small.npy
