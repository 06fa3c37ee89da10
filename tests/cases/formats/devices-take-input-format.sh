# SPDX-License-Identifier: Apache-2.0
# An output that has no name to tell its format (standard output, /dev/stdout, a name without
# an extension) is written in its input's; --output-format names another.
bnorm apply samples/features.json -o expected.json
bnorm apply samples/features.json -o - > a
bnorm apply samples/features.json -o /dev/stdout > b
bnorm apply samples/features.json -o c
cmp a expected.json && cmp b expected.json && cmp c expected.json && echo same
bnorm apply samples/features.json -o - --output-format npy | head -c 6 | od -An -c
