# SPDX-License-Identifier: Apache-2.0
# -o creates one folder level, not a missing parent.
bnorm apply samples/batch.npy samples/features.json -o no/such/
