# SPDX-License-Identifier: Apache-2.0
# -o names the output as OUTPUT does, and as apply, backward, fold and merge take theirs.
bnorm convert samples/batch.npy -o by-flag.json
bnorm convert samples/batch.npy by-position.json
cmp by-flag.json by-position.json
bnorm convert -o - samples/batch.npy --output-format json --dtype float16 | head -n 2
