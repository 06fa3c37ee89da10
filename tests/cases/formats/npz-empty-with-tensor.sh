# SPDX-License-Identifier: Apache-2.0
# np.savez with no arrays: an end record alone
printf 'PK\005\006\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000' > empty.npz
bnorm stats empty.npz --tensor w --format csv
