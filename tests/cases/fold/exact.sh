# SPDX-License-Identifier: Apache-2.0
# With eps 0: rows scaled by 1 and 1/4; bias (0 - 1) * 1 + 0 = -1 and (0 - 2) / 4 + 1 = 0.5.
bnorm fold weight.json --state state.json --eps 0 -o - --output-format json --bias-out bias.json &&
  cat bias.json
