# SPDX-License-Identifier: Apache-2.0
bnorm convert --help
