# SPDX-License-Identifier: Apache-2.0
# A file that fails midway: no output, no --stats-out, the folder as it was.
mkdir in out
cp samples/batch.npy in/a.npy
printf broken > in/b.npy
cp samples/batch.npy in/c.npy
bnorm apply in -o out/ --stats-out s.json
