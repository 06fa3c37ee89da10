# SPDX-License-Identifier: Apache-2.0
bnorm layers model.npz --gamma-threshold 1.5 --format csv
