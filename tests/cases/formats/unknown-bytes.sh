# SPDX-License-Identifier: Apache-2.0
# Neither the name nor the first bytes tell a format.
printf 'hello, world' > notes.txt
bnorm stats notes.txt
