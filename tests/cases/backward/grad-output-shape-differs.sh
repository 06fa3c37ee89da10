# SPDX-License-Identifier: Apache-2.0
bnorm backward x.json --grad-output dy-wide.json -o dx.json
