# SPDX-License-Identifier: Apache-2.0
# --no-output writes only the state: without --stats-out nothing would be written.
bnorm apply samples/batch.npy --no-output
