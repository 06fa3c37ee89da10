# SPDX-License-Identifier: Apache-2.0
"""A 1 GiB float32 checkpoint as torch.save writes it: the state_dict of LAYERS blocks of a
Conv2d(512, 512, 3) and a BatchNorm2d(512), as a deep ResNet's state_dict lays them out.
Deterministic (torch.manual_seed); the running statistics are not the defaults.

    make_big_checkpoint.py OUTPUT.pt
"""
import collections
import sys

import torch

LAYERS = 114  # 114 x 9 MiB of convolution weights, 1.0 GiB in all
CHANNELS = 512

torch.manual_seed(1)
state = collections.OrderedDict()
for i in range(LAYERS):
    state[f"layers.{i}.conv.weight"] = torch.randn(CHANNELS, CHANNELS, 3, 3) * 0.02
    state[f"layers.{i}.bn.weight"] = torch.rand(CHANNELS) + 0.5
    state[f"layers.{i}.bn.bias"] = torch.randn(CHANNELS) * 0.1
    state[f"layers.{i}.bn.running_mean"] = torch.randn(CHANNELS)
    state[f"layers.{i}.bn.running_var"] = torch.rand(CHANNELS) * 2 + 0.1
    state[f"layers.{i}.bn.num_batches_tracked"] = torch.tensor(1000 + i)
torch.save(state, sys.argv[1])
