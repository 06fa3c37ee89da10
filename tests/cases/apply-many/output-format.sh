# SPDX-License-Identifier: Apache-2.0
# --output-format's extension replaces the input's under the folder.
cp samples/batch.npy second.npy
bnorm apply samples/batch.npy second.npy -o out/ --output-format json
ls out
