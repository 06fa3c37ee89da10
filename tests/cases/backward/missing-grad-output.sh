# SPDX-License-Identifier: Apache-2.0
bnorm backward x.json -o dx.json
