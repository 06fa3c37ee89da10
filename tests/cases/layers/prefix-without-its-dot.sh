# SPDX-License-Identifier: Apache-2.0
bnorm layers model.npz --prefix bn1 --format table
