# SPDX-License-Identifier: Apache-2.0
bnorm fold weight.json --state three-channels.json -o folded.json --bias-out bias.json
