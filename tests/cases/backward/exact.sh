# SPDX-License-Identifier: Apache-2.0
# dx = (4 dy - sum(dy) - x sum(dy x)) / 4 = [0.5, -0.5, 0, 0]; grad_weight -1, grad_bias 1.
bnorm backward x.json --grad-output dy.json --eps 0 --grads-out grads.json \
    -o - --output-format json &&
  cat grads.json
