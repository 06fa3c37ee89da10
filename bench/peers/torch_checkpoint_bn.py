# SPDX-License-Identifier: Apache-2.0
"""What a PyTorch user runs to apply one layer of a checkpoint: torch.load of the whole file,
then F.batch_norm in eval mode with that layer's state (default eps), loading and saving .npy.

    torch_checkpoint_bn.py CHECKPOINT PREFIX INPUT.npy OUTPUT.npy
"""
import sys

import numpy as np
import torch
import torch.nn.functional as F

checkpoint, prefix, source, target = sys.argv[1:5]
state = torch.load(checkpoint)
x = torch.from_numpy(np.load(source))
with torch.no_grad():
    y = F.batch_norm(x, state[prefix + "running_mean"], state[prefix + "running_var"],
                     state[prefix + "weight"], state[prefix + "bias"], training=False, eps=1e-5)
np.save(target, y.numpy())
