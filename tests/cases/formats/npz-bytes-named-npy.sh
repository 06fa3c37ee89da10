# SPDX-License-Identifier: Apache-2.0
# An extension that says one format over the bytes of another is invalid data naming both.
/usr/bin/python3 -c "import numpy as np; np.savez('x.npy', x=np.ones((2, 3), 'f4'))"
mv x.npy.npz x.npy
bnorm stats x.npy
