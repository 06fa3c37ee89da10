# SPDX-License-Identifier: Apache-2.0
bnorm stats samples/batches.npz --format csv
