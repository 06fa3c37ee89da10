# SPDX-License-Identifier: Apache-2.0
# bfloat16 keeps 8 significant bits: 70000 becomes 70144, 0.1 becomes 0.10009765625.
printf "[[1.5, 70000], [0.1, -2]]" > x.json
bnorm convert x.json x.safetensors --dtype bfloat16 &&
  bnorm convert x.safetensors - --output-format json
