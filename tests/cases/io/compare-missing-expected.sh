# SPDX-License-Identifier: Apache-2.0
bnorm compare samples/batch.npy nothing.npy
