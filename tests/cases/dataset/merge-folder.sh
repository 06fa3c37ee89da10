# SPDX-License-Identifier: Apache-2.0
mkdir parts
bnorm stats a.npy --partial > parts/a.json
bnorm stats b.npy --partial > parts/b.json
bnorm merge parts -o -
