# SPDX-License-Identifier: Apache-2.0
bnorm stats a.npy b.npy --plot p.svg --beside a.npy --format normalize
grep -c "<svg" p.svg
grep -o "2 files: float32[^<]*" p.svg
