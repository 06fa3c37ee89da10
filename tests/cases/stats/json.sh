# SPDX-License-Identifier: Apache-2.0
bnorm stats small.npy --format json
