# SPDX-License-Identifier: Apache-2.0
# The output is a device: the write fails (exit 4), and /dev/full stays the device it was.
bnorm apply samples/batch.npy -o /dev/full --output-format npy
status=$?
test -c /dev/full || echo "/dev/full is no longer a character device"
exit $status
