# SPDX-License-Identifier: Apache-2.0
bnorm convert samples/batch.npy one.pt
bnorm layers one.pt
