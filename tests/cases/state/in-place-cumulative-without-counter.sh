# SPDX-License-Identifier: Apache-2.0
# The layer keeps its keys in place, so a cumulative average cannot carry its count over.
bnorm apply x.npy -o y.npy --state keras.npz --state-prefix bn. --stats-out keras.npz --momentum none
bnorm convert keras.npz --tensor bn.moving_variance --output-format json -
