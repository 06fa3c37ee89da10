# SPDX-License-Identifier: Apache-2.0
# Standard output is a pipe here, so the default is JSON.
bnorm stats small.npy
