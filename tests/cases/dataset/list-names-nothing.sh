# SPDX-License-Identifier: Apache-2.0
printf '\n\n' > list.txt
bnorm stats --files-from list.txt
