# SPDX-License-Identifier: Apache-2.0
bnorm layers model.npz --plot -
