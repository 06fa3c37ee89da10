# SPDX-License-Identifier: Apache-2.0
mkdir folder.npz
bnorm layers folder.npz
