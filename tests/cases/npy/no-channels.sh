# SPDX-License-Identifier: Apache-2.0
# An empty batch (N = 0) is normalized as PyTorch does; no channels is not a batch.
bnorm apply no-channels.npy -o y.npy
