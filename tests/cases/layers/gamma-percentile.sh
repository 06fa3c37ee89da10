# SPDX-License-Identifier: Apache-2.0
bnorm layers model.npz --gamma-percentile 50 --format table
