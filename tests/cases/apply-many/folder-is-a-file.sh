# SPDX-License-Identifier: Apache-2.0
# -o DIR/ that names a file.
bnorm apply samples/batch.npy samples/features.json -o samples/state.json/
