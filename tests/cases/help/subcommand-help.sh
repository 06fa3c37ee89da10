# SPDX-License-Identifier: Apache-2.0
# bnorm help SUBCOMMAND prints what bnorm SUBCOMMAND --help prints, for every subcommand.
for subcommand in apply stats compare convert merge backward fold; do
  bnorm help $subcommand > help.txt
  bnorm $subcommand --help | cmp - help.txt || exit 1
done
