# SPDX-License-Identifier: Apache-2.0
bnorm fold weight.json -o folded.json --bias-out bias.json
