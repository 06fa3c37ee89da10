# SPDX-License-Identifier: Apache-2.0
# Written as convert is (INPUT OUTPUT): apply reads every positional as an input, and says how
# to name the output instead.
bnorm apply samples/batch.npy out.npy
