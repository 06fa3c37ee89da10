# SPDX-License-Identifier: Apache-2.0
# Nothing in a table's bytes tells it: standard input names its format.
printf 'a,b\n1,2\n3,4\n' | bnorm stats -
