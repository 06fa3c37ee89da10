# SPDX-License-Identifier: Apache-2.0
# OUTPUT and -o both name the output: which one is meant is not guessed.
bnorm convert samples/batch.npy a.json -o b.json
