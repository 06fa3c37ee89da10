# SPDX-License-Identifier: Apache-2.0
# A folder of inputs that holds -o DIR/ and --stats-out is walked without them: a second run
# (under any spelling of their names) reads the inputs again, not the first run's outputs.
mkdir w
cp samples/batch.npy w/a.npy
cp samples/batch.npy w/b.npy
bnorm apply w -o w/out/ --stats-out w/s.json
bnorm apply w -o w/out/ --stats-out w/s.json
bnorm apply ./w -o w//out --stats-out ./w/s.json
grep '"files"' w/s.json
ls w w/out
