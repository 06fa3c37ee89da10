# SPDX-License-Identifier: Apache-2.0
# A TSV table is a CSV table separated by tabs; its refusals are the same.
printf 'a\tb\n1\t2\n3\n' > t.tsv
bnorm stats t.tsv
