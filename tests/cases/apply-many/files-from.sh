# SPDX-License-Identifier: Apache-2.0
# --files-from lists the inputs; each is written under the folder, with --stats-out.
cp samples/batch.npy second.npy
printf 'samples/batch.npy\nsecond.npy\n' > list
bnorm apply --files-from list -o out/ --stats-out s.json
ls out
grep -E '"(files|count|num_batches_tracked)"' s.json
