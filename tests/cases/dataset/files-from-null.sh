# SPDX-License-Identifier: Apache-2.0
printf 'b.npy\0a.npy' > list
bnorm stats --files-from list -0 --format csv
