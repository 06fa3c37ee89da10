# SPDX-License-Identifier: Apache-2.0
# -o may name INPUT, but not --state: no output overwrites another input.
bnorm apply samples/batch.npy -o samples/state.json --state samples/state.json
