# SPDX-License-Identifier: Apache-2.0
# bnorm --help prints what bnorm help prints.
bnorm help > help.txt
bnorm --help | cmp - help.txt
