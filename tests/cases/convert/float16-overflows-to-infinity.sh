# SPDX-License-Identifier: Apache-2.0
# 70000 is past float16's largest finite value, 65504.
printf "[[1.5, 70000], [0.1, -2]]" > x.json
bnorm convert x.json - --output-format json --dtype float16
