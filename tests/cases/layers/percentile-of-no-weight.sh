# SPDX-License-Identifier: Apache-2.0
bnorm layers mismatch.npz --gamma-percentile 50
