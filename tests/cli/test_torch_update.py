#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""update_torch_set, through its test driver (tests/unit/torch_update_driver.cpp), checked with
torch (Debian's python3-torch 1.13): checkpoints of a real model trained a few steps, with the
layer's running statistics replaced and a tensor added.  Every other entry of the state_dict
and of the whole checkpoint (optimizer state, epoch, _metadata...) is equal after the update
(same type, dtype, shape, torch.equal); the replaced entries hold the new values in the dtype
given; the records keep the original's folder."""
import collections
import os
import pathlib
import shutil
import subprocess
import tempfile
import unittest
import zipfile

import torch

DRIVER = os.environ.get("TORCH_UPDATE_DRIVER")


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(2, 3, 3)
        self.bn = torch.nn.BatchNorm2d(3)
        self.fc = torch.nn.Linear(12, 4)
        self.bn1 = torch.nn.BatchNorm1d(4)

    def forward(self, x):
        return self.bn1(self.fc(torch.relu(self.bn(self.conv(x))).flatten(1)))


def trained():
    torch.manual_seed(13)
    net = Net()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    for _ in range(3):
        optimizer.zero_grad()
        net(torch.randn(5, 2, 4, 4)).pow(2).mean().backward()
        optimizer.step()
    return net, optimizer


def assert_same(test, a, b, path):
    test.assertIs(type(a), type(b), path)
    if isinstance(a, torch.Tensor):
        test.assertEqual((a.dtype, a.shape, a.requires_grad), (b.dtype, b.shape, b.requires_grad), path)
        test.assertTrue(torch.equal(a, b), path)
    elif isinstance(a, dict):
        test.assertEqual(list(a), list(b), path)
        for key in a:
            assert_same(test, a[key], b[key], path + [key])
        test.assertEqual(getattr(a, "_metadata", None), getattr(b, "_metadata", None), path)
    elif isinstance(a, (list, tuple)):
        test.assertEqual(len(a), len(b), path)
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(test, x, y, path + [i])
    else:
        test.assertEqual(a, b, path)


@unittest.skipIf(DRIVER is None, "TORCH_UPDATE_DRIVER names no driver (run through CTest)")
class TorchUpdateTest(unittest.TestCase):
    def setUp(self):
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="bnorm-torch-update-"))

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def update(self, original, replacements):
        out = self.dir / "updated.pt"
        args = [f"{name}={dtype}:{','.join(repr(float(v)) for v in values)}"
                for name, (dtype, values) in replacements.items()]
        result = subprocess.run([DRIVER, original, out, *args], capture_output=True, text=True)
        self.assertEqual(result.returncode, 0, result.stderr)
        return out

    def check(self, saved, state_of, prefix, weights_only):
        path = self.dir / "model.pt"
        torch.save(saved, path)
        replacements = collections.OrderedDict([
            (prefix + "bn.running_mean", ("float64", [0.5, -1.25, 3.0])),
            (prefix + "bn.running_var", ("float32", [1.5, 2.0, 0.25])),
            (prefix + "bn.num_batches_tracked", ("int64", [42])),
            (prefix + "added", ("bfloat16", [1.0, -2.0])),
        ])
        out = self.update(path, replacements)
        before = torch.load(path, weights_only=weights_only)
        after = torch.load(out, weights_only=weights_only)
        self.assertTrue(all(n.startswith("model/") for n in zipfile.ZipFile(out).namelist()))
        state_before, state_after = state_of(before), state_of(after)
        for name, (dtype, values) in replacements.items():
            self.assertEqual(state_after[name].dtype, getattr(torch, dtype), name)
            expected = torch.tensor(values, dtype=getattr(torch, dtype))
            if name.endswith("num_batches_tracked"):
                expected = expected.reshape(())
            self.assertTrue(torch.equal(state_after[name], expected), name)
        # Replaced in place, added at the end, every other name where it was.
        self.assertEqual(list(state_after), list(state_before) + [prefix + "added"])
        kept_before = {k: v for k, v in state_before.items() if k not in replacements}
        kept_after = {k: v for k, v in state_after.items() if k not in replacements}
        assert_same(self, kept_before, kept_after, ["state_dict"])
        self.assertEqual(state_before._metadata, state_after._metadata)
        if state_after is not after:
            rest_before = {k: v for k, v in before.items() if v is not state_before}
            rest_after = {k: v for k, v in after.items() if v is not state_after}
            assert_same(self, rest_before, rest_after, [])
        return after

    def test_a_bare_state_dict(self):
        net, _ = trained()
        after = self.check(net.state_dict(), lambda c: c, "", weights_only=True)
        del after["added"]
        net.load_state_dict(after)  # torch takes it back, every shape as the module wants

    def test_a_checkpoint_around_a_state_dict(self):
        net, optimizer = trained()
        checkpoint = {"epoch": 3, "model_state_dict": net.state_dict(),
                      "optimizer_state_dict": optimizer.state_dict(), "loss": 0.25,
                      "best": None, "tags": ["a", "b"], "steps": 2**40}
        self.check(checkpoint, lambda c: c["model_state_dict"], "", weights_only=False)

    def test_a_data_parallel_state_dict_of_parameters(self):
        net, _ = trained()
        state = collections.OrderedDict(("module." + k, v) for k, v in
                                        net.state_dict(keep_vars=True).items())
        state._metadata = collections.OrderedDict(
            ("module." + k if k else "module", v) for k, v in net.state_dict()._metadata.items())
        after = self.check(state, lambda c: c, "module.", weights_only=True)
        self.assertIsInstance(after["module.conv.weight"], torch.nn.Parameter)


if __name__ == "__main__":
    unittest.main()
