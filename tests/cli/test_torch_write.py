#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""bnorm's .pt outputs, read by torch itself (Debian's python3-torch 1.13) with
torch.load(weights_only=True): --stats-out state.pt loads into nn.BatchNorm1d/2d/3d with
PyTorch's names and equals torch's own running statistics; apply and convert to .pt give the
values of bnorm's .npy output.  Skips itself while the binary has no PyTorch format (its
--help lists none), so that it runs once the codec is in."""
import collections
import io
import os
import re
import subprocess
import unittest
import zipfile

import numpy as np

from cli_support import BNORM, ScratchTestCase

try:
    import torch
except ImportError:  # pragma: no cover - Debian's python3-torch is a test dependency
    torch = None

TORCH_WORDS = ("pt", "pth", "torch", "pytorch")


def torch_format_word():
    """The word bnorm's convert --help gives the PyTorch format, or None."""
    text = subprocess.run([BNORM, "convert", "--help"], capture_output=True, text=True).stdout
    match = re.search(r"--output-format (\S+)", text)
    words = match.group(1).split("|") if match else []
    return next((w for w in words if w in TORCH_WORDS), None)


FORMAT = torch_format_word()


def load(path_or_bytes):
    source = io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, bytes) else str(path_or_bytes)
    return torch.load(source, weights_only=True)


@unittest.skipIf(torch is None, "torch is not installed")
@unittest.skipIf(FORMAT is None, "bnorm --help lists no PyTorch (.pt) format yet")
class TorchWriteTest(ScratchTestCase):
    def run_ok(self, *args):
        result = self.bnorm(*args)
        self.assertEqual(result.status, 0, result)
        return result

    def test_stats_out_loads_into_batch_norm_modules(self):
        rng = np.random.default_rng(13)
        modules = {2: torch.nn.BatchNorm1d, 4: torch.nn.BatchNorm2d, 5: torch.nn.BatchNorm3d}
        for rank, module in modules.items():
            with self.subTest(module=module.__name__):
                shape = (6, 3, 4, 3, 2)[:rank]
                x = rng.normal(2.0, 3.0, size=shape)
                np.save(self.path("x.npy"), x)
                self.run_ok("apply", "x.npy", "-o", "y.npy", "--stats-out", "state.pt")
                self.run_ok("apply", "x.npy", "-o", "y.npy", "--stats-out", "state.npz")
                state = load(self.path("state.pt"))
                self.assertIsInstance(state, collections.OrderedDict)
                # PyTorch's names, in the order a module's state_dict() gives them.
                bn = module(3, dtype=torch.float64)
                self.assertEqual(list(state), list(bn.state_dict()))
                bn.load_state_dict(state)  # strict: every name and shape as torch wants
                self.assertEqual(state["num_batches_tracked"].dtype, torch.int64)
                self.assertEqual(state["num_batches_tracked"].shape, ())
                self.assertEqual(int(state["num_batches_tracked"]), 1)
                # The dtype the state had (float64 until states carry theirs), the .npz's values.
                npz = np.load(self.path("state.npz"))
                for name in state:
                    self.assertEqual(state[name].dtype, torch.from_numpy(npz[name]).dtype, name)
                    self.assertTrue(torch.equal(state[name], torch.from_numpy(npz[name])), name)
                # torch's own module after one training step on the same batch.
                reference = module(3, dtype=torch.float64)
                reference.train()(torch.from_numpy(x))
                for name in ("running_mean", "running_var"):
                    torch.testing.assert_close(state[name], getattr(reference, name),
                                               rtol=1e-12, atol=1e-14, msg=name)
                # The records' folder is the file's base name, as torch.save names it.
                names = zipfile.ZipFile(self.path("state.pt")).namelist()
                self.assertEqual(names[0], "state/data.pkl")
                self.assertEqual(names[-1], "state/version")

    def test_apply_to_pt_equals_the_npy_output(self):
        rng = np.random.default_rng(7)
        for dtype in (np.float64, np.float32, np.float16):
            with self.subTest(dtype=dtype.__name__):
                np.save(self.path("x.npy"), rng.normal(size=(5, 3, 4)).astype(dtype))
                self.run_ok("apply", "x.npy", "-o", "y.npy")
                self.run_ok("apply", "x.npy", "-o", "y.pt")
                expected = torch.from_numpy(np.load(self.path("y.npy")))
                got = load(self.path("y.pt"))
                self.assertIsInstance(got, torch.Tensor)  # torch.save(tensor)
                self.assertEqual(got.dtype, expected.dtype)
                self.assertTrue(torch.equal(got, expected))
                # To standard output, held and written whole, under "archive/" as a buffer's.
                streamed = self.run_ok("apply", "x.npy", "-o", "-", "--output-format", FORMAT)
                self.assertTrue(torch.equal(load(streamed.stdout), expected))
                names = zipfile.ZipFile(io.BytesIO(streamed.stdout)).namelist()
                self.assertEqual(names, ["archive/data.pkl", "archive/data/0", "archive/version"])

    def test_convert_to_pt_equals_the_npy_output(self):
        rng = np.random.default_rng(11)
        cases = [((2, 3, 4), np.float32, False), ((3, 5), np.float64, True), ((7,), np.float16, False),
                 ((), np.float64, False), ((2, 0, 3), np.float32, False)]
        for shape, dtype, fortran in cases:
            with self.subTest(shape=shape, dtype=dtype.__name__, fortran=fortran):
                x = rng.normal(size=shape).astype(dtype)
                np.save(self.path("x.npy"), np.asfortranarray(x) if fortran else x)
                self.run_ok("convert", "x.npy", "y.npy")
                self.run_ok("convert", "x.npy", "y.pt")
                expected = torch.from_numpy(np.load(self.path("y.npy")).copy(order="C"))
                got = load(self.path("y.pt"))
                self.assertEqual(got.dtype, expected.dtype)
                self.assertEqual(got.shape, expected.shape)
                self.assertTrue(torch.equal(got, expected))

    def test_convert_writes_the_bytes_torch_save_writes(self):
        """The same tensor saved by torch.save to a file of the same name: the same bytes.
        BNORM_LARGE_GRID=1 adds a tensor past 4 GiB (ZIP64 fields; 8.6 GB of disk)."""
        rng = np.random.default_rng(5)
        cases = [((3, 4), np.float32), ((2, 2, 2), np.float64), ((5,), np.float16)]
        for shape, dtype in cases:
            with self.subTest(shape=shape, dtype=dtype.__name__):
                x = rng.normal(size=shape).astype(dtype)
                np.save(self.path("x.npy"), x)
                os.makedirs(self.path("torch"), exist_ok=True)
                torch.save(torch.from_numpy(x), self.path("torch/y.pt"))
                self.run_ok("convert", "x.npy", "y.pt")
                self.assertEqual(self.path("y.pt").read_bytes(),
                                 self.path("torch/y.pt").read_bytes())
        if os.environ.get("BNORM_LARGE_GRID") == "1":
            n = 2**30 + 16  # float32: a record past 4 GiB, and records after it past 4 GiB
            np.lib.format.open_memmap(self.path("big.npy"), mode="w+", dtype=np.float32,
                                      shape=(n,)).flush()
            os.makedirs(self.path("torch"), exist_ok=True)
            torch.save(torch.zeros(n), self.path("torch/big.pt"))
            self.run_ok("convert", "big.npy", "big.pt")
            result = subprocess.run(["cmp", self.path("big.pt"), self.path("torch/big.pt")])
            self.assertEqual(result.returncode, 0)


if __name__ == "__main__":
    unittest.main()
