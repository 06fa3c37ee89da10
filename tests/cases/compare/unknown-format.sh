# SPDX-License-Identifier: Apache-2.0
bnorm compare a.npy same.npy --format xml
