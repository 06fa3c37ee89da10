# SPDX-License-Identifier: Apache-2.0
# An empty file holds no table.
: > t.csv
bnorm stats t.csv
