# SPDX-License-Identifier: Apache-2.0
bnorm stats a.npy b.npy --channels 1: --format csv
