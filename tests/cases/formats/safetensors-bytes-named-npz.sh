# SPDX-License-Identifier: Apache-2.0
bnorm convert samples/batch.npy x.safetensors
mv x.safetensors x.npz
bnorm convert x.npz y.npy
