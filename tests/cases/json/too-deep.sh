# SPDX-License-Identifier: Apache-2.0
# 100000 nested arrays: refused at depth 32, before the parser recurses that deep.
/usr/bin/python3 -c "print(\"[\" * 100000 + \"]\" * 100000, end=\"\")" > x.json
bnorm apply x.json -o y.npy
