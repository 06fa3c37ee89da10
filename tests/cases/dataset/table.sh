# SPDX-License-Identifier: Apache-2.0
bnorm stats b.npy a.npy --format table
