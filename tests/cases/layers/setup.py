# SPDX-License-Identifier: Apache-2.0
"""A model's state_dict with values exact in binary, so that every summary can be checked by
hand: bn1. (4 channels, a dead one and a small gamma), bn2. (2 channels, running_var NaN and
-0.5, float16), a convolution between them; a layer whose lengths disagree; a Keras layer;
an archive of no tensor; a lone layer, whose names have no prefix; and the model under
DataParallel's "module."."""
import numpy as np

f32 = np.float32
np.savez("model.npz", **{
    "conv.weight": np.ones((4, 3, 1, 1), f32),
    "bn1.weight": np.array([1, 0.5, 0.001953125, 2], f32),
    "bn1.bias": np.array([0, 0.25, -0.25, 1], f32),
    "bn1.running_mean": np.array([0.5, -1.5, 2, 0], f32),
    "bn1.running_var": np.array([1, 0, 4, 0.25], f32),
    "bn1.num_batches_tracked": np.array(9007199254740993, np.int64),
    "bn2.weight": np.array([1, -1], np.float16),
    "bn2.bias": np.array([0, 0], np.float16),
    "bn2.running_mean": np.array([1, 3], np.float16),
    "bn2.running_var": np.array([np.nan, -0.5], np.float16),
    "bn2.num_batches_tracked": np.array(3, np.int64),
})
np.savez("mismatch.npz", **{
    "bn.weight": np.ones((3, 1), f32),
    "bn.running_mean": np.zeros(3, f32),
    "bn.running_var": np.ones(2, f32),
    "bn.num_batches_tracked": np.array(1.5),
})
np.savez("keras.npz", **{
    "batch_normalization/gamma": np.array([0.125, 1], f32),
    "batch_normalization/beta": np.array([0, 1], f32),
    "batch_normalization/moving_mean": np.array([2, 4], f32),
    "batch_normalization/moving_variance": np.array([np.inf, 1], f32),
})
np.savez("empty.npz")
# The state_dict of a lone BatchNorm1d(2): its names have no prefix.
np.savez("lone.npz", weight=np.array([1, 0.5], f32), bias=np.zeros(2, f32),
         running_mean=np.array([0.25, -4], f32), running_var=np.array([2, 0.125], f32),
         num_batches_tracked=np.array(7, np.int64))
# The model saved from DataParallel: every name under "module.".
with np.load("model.npz") as model:
    np.savez("data-parallel.npz", **{"module." + k: model[k] for k in model.files})
