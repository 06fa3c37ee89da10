# SPDX-License-Identifier: Apache-2.0
# An output over its input is its new version, by -o as by OUTPUT (written beside it, then
# renamed over it).
printf "[[0.1, 70000]]" > x.json
bnorm convert x.json -o x.json --dtype float16
cat x.json
