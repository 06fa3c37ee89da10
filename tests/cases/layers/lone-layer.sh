# SPDX-License-Identifier: Apache-2.0
bnorm layers lone.npz --prefix '' --format table
bnorm layers lone.npz --format csv
