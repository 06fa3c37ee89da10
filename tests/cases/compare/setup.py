# SPDX-License-Identifier: Apache-2.0
"""Small tensors that match, differ in one element, in dtype, in shape, or by one ulp."""
import json

import numpy as np

a = np.array([[1, 2], [3, 4]], np.float32)
np.save("a.npy", a)
np.save("same.npy", a.copy())
one_off = a.copy()
one_off[1, 0] = 3.5
np.save("one-off.npy", one_off)
np.save("a-float64.npy", a.astype(np.float64))
np.save("wide.npy", np.zeros((2, 3), np.float32))
next_after_one = a.copy()
next_after_one[0, 0] = np.nextafter(np.float32(1), np.float32(2))
np.save("one-ulp.npy", next_after_one)
with open("samples/state.json") as f:
    state = json.load(f)
state["running_var"][2] = 0.5
with open("other-state.json", "w") as f:
    json.dump(state, f)
