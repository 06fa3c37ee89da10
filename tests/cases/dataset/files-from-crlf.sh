# SPDX-License-Identifier: Apache-2.0
# A list written on Windows (CR LF line ends) names the same files: the CR is not in a name.
printf 'b.npy\r\na.npy\r\n' > list
bnorm stats --files-from list --format csv
