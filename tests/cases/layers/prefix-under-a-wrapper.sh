# SPDX-License-Identifier: Apache-2.0
bnorm layers data-parallel.npz --prefix bn1. --format csv
bnorm layers data-parallel.npz --prefix bn2 --format csv
