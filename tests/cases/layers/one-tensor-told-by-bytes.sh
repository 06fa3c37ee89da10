# SPDX-License-Identifier: Apache-2.0
cp samples/batch.npy model
bnorm layers model
