# SPDX-License-Identifier: Apache-2.0
bnorm stats a.npy --partial > a.json
bnorm stats b.npy --partial > b.json
bnorm merge b.json a.json -o ba.json
printf "a.json\nb.json\n" | bnorm merge --files-from - -o ab.json
cmp ab.json ba.json
