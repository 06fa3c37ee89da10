#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""PyTorch checkpoints as users have them, written by torch.save itself (Debian's python3-torch,
1.13), for the tests of bnorm's .pt reader: nothing here is typed by hand or made by bnorm.

A small ResNet-like net (a BatchNorm2d on the input images, a stem Conv2d + BatchNorm2d, one basic block, a Conv3d + BatchNorm3d
branch, a Linear + BatchNorm1d head) is trained for three SGD steps in train mode, so that its
running statistics, weights and num_batches_tracked (3) are not the defaults, then saved in
every shape a checkpoint comes in (see VARIANTS).  Deterministic: torch.manual_seed, and
torch.save writes no timestamps, so rerunning it reproduces the same bytes.

    import make_torch_goldens as goldens
    paths = goldens.write_checkpoints(folder)   # {variant: path}, each a few tens of KB

The tests call it into a temporary folder; nothing but samples/resnet_tiny.pt is checked in:
    /usr/bin/python3 tests/golden/make_torch_goldens.py   # rewrites samples/resnet_tiny.pt
"""
import collections
import pathlib

import torch
from torch import nn

HERE = pathlib.Path(__file__).resolve().parent
SAMPLES = HERE.parents[1] / "samples"
TRAIN_STEPS = 3

# The batch-norm layers of TinyResNet: prefix -> (class, channels, input rank).
LAYERS = {
    "bn0.": (nn.BatchNorm2d, 3, 4),
    "bn1.": (nn.BatchNorm2d, 6, 4),
    "layer1.0.bn1.": (nn.BatchNorm2d, 6, 4),
    "layer1.0.bn2.": (nn.BatchNorm2d, 6, 4),
    "bn3d.": (nn.BatchNorm3d, 2, 5),
    "bn_fc.": (nn.BatchNorm1d, 3, 2),
}


class BasicBlock(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(y)) + x)


class TinyResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.bn0 = nn.BatchNorm2d(3)  # normalizes the input images
        self.conv1 = nn.Conv2d(3, 6, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(6)
        self.layer1 = nn.Sequential(BasicBlock(6))
        self.conv3d = nn.Conv3d(1, 2, 3, padding=1)
        self.bn3d = nn.BatchNorm3d(2)
        self.fc = nn.Linear(6 + 2, 3)
        self.bn_fc = nn.BatchNorm1d(3)

    def forward(self, x):
        x = self.bn0(x)
        a = self.layer1(torch.relu(self.bn1(self.conv1(x))))
        v = torch.relu(self.bn3d(self.conv3d(x.unsqueeze(1))))
        features = torch.cat([a.mean((2, 3)), v.mean((2, 3, 4))], 1)
        return self.bn_fc(self.fc(features))


def trained_model():
    """The net after TRAIN_STEPS steps of SGD with momentum (and its optimizer and scheduler),
    in train mode throughout; the same every call."""
    torch.manual_seed(13)
    model = TinyResNet()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    model.train()
    for _ in range(TRAIN_STEPS):
        x = torch.randn(8, 3, 6, 6) * 2 + 0.5
        target = torch.randn(8, 3)
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(x), target)
        loss.backward()
        optimizer.step()
        scheduler.step()
    return model, optimizer, scheduler


def layer(prefix, state):
    """A fresh module of the layer at `prefix`, its state loaded from `state` (any float dtype,
    widened to float32: PyTorch's CPU kernels do not mix dtypes)."""
    cls, channels, _ = LAYERS[prefix]
    module = cls(channels)
    own = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    module.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in own.items()})
    return module


def cast(state, dtype):
    """A copy of `state` with its floating tensors in `dtype` (num_batches_tracked stays int64,
    as model.half() leaves it)."""
    return collections.OrderedDict(
        (k, v.to(dtype) if v.is_floating_point() else v.clone()) for k, v in state.items())


def views():
    """Tensors that are views, in one dict so that torch.save keeps their shared storages: a
    slice with a step, a transpose, a storage offset, two overlapping slices of one storage."""
    torch.manual_seed(7)
    base = torch.randn(24)
    matrix = torch.randn(3, 4)
    shared = torch.randn(10)
    return {
        "strided": base[1::3],            # stride 3, offset 1
        "transposed": matrix.t(),          # (4, 3), strides (1, 4)
        "offset": base[5:11],              # offset 5 into base's storage
        "block": base.view(4, 6)[1:3, ::2],  # offset 6, strides (6, 2)
        "shared_a": shared[:6],
        "shared_b": shared[4:],            # overlaps shared_a in one storage
        "scalar": torch.tensor(2.5, dtype=torch.float64),
        "long": torch.arange(5, dtype=torch.int64) * 1000003,
    }


def checkpoints():
    """{variant: (object to torch.save, pickle protocol)}: every checkpoint shape the tests read."""
    model, optimizer, scheduler = trained_model()
    sd = model.state_dict()
    extras = {"optimizer": optimizer.state_dict(), "epoch": 3}
    lightning = {
        "epoch": 3,
        "global_step": TRAIN_STEPS,
        "pytorch-lightning_version": "1.9.0",
        "state_dict": collections.OrderedDict(("model." + k, v) for k, v in sd.items()),
        "loops": {"fit_loop": {"epoch_progress": {"total": {"ready": 3}}}},
        "callbacks": {},
        "optimizer_states": [optimizer.state_dict()],
        "lr_schedulers": [scheduler.state_dict()],
        "hparams_name": "kwargs",
        "hyper_parameters": {"lr": 0.1, "channels": [6, 2]},
    }
    return {
        "state_dict": (sd, 2),
        "state_dict_protocol4": (sd, 4),
        "state_dict_protocol5": (sd, 5),
        # As torch.save(dict(model.named_parameters()) | buffers) writes it: _rebuild_parameter.
        "parameters": (collections.OrderedDict(
            (k, nn.Parameter(v.clone(), requires_grad=v.is_floating_point()))
            for k, v in sd.items()), 2),
        "wrapped_state_dict": ({"state_dict": sd, **extras}, 2),
        "wrapped_model": ({"model": sd, **extras}, 2),
        "wrapped_model_state_dict": ({"model_state_dict": sd, **extras}, 2),
        # What nn.DataParallel(model).state_dict() gives: every key under "module.".
        "data_parallel": (collections.OrderedDict(("module." + k, v) for k, v in sd.items()), 2),
        "lightning": (lightning, 2),
        "half": (cast(sd, torch.float16), 2),
        "bfloat16": (cast(sd, torch.bfloat16), 2),
        "views": (views(), 2),
    }


# Where each variant keeps its state_dict, and the prefix its keys carry.
WRAPPERS = {
    "state_dict": (None, ""),
    "state_dict_protocol4": (None, ""),
    "state_dict_protocol5": (None, ""),
    "parameters": (None, ""),
    "wrapped_state_dict": ("state_dict", ""),
    "wrapped_model": ("model", ""),
    "wrapped_model_state_dict": ("model_state_dict", ""),
    "data_parallel": (None, "module."),
    "lightning": ("state_dict", "model."),
    "half": (None, ""),
    "bfloat16": (None, ""),
    "views": (None, ""),
}


def tensors_of(loaded, variant):
    """The dict of named tensors in what torch.load gave for `variant`."""
    entry, _ = WRAPPERS[variant]
    return loaded[entry] if entry else loaded


def write_checkpoints(folder):
    folder = pathlib.Path(folder)
    paths = {}
    for variant, (obj, protocol) in checkpoints().items():
        path = folder / f"{variant}.pt"
        torch.save(obj, path, pickle_protocol=protocol)
        paths[variant] = path
    return paths


def write_sample():
    """samples/resnet_tiny.pt, the README's example: the trained net's bare state_dict.  Its
    bn0. (BatchNorm2d(3)) fits samples/batch.npy, its bn_fc. (BatchNorm1d(3)) features.json."""
    model, _, _ = trained_model()
    torch.save(model.state_dict(), SAMPLES / "resnet_tiny.pt")


if __name__ == "__main__":
    write_sample()
    print(f"wrote {SAMPLES / 'resnet_tiny.pt'}")
