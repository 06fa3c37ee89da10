# SPDX-License-Identifier: Apache-2.0
printf "[[1.5, 70000], [0.1, -2]]" > x.json
bnorm convert x.json - --output-format json
