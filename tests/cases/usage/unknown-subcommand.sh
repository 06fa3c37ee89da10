# SPDX-License-Identifier: Apache-2.0
# A misspelt subcommand is named, with the ones there are.
bnorm aply samples/batch.npy -o y.npy
