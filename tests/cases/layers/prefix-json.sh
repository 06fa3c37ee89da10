# SPDX-License-Identifier: Apache-2.0
bnorm layers model.npz --prefix bn2. --format json
