# SPDX-License-Identifier: Apache-2.0
bnorm fold weight.json --state state.json -o folded.json
