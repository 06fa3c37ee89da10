# SPDX-License-Identifier: Apache-2.0
bnorm stats samples/batch.npy --partial --format csv
