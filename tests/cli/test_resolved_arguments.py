#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Flags that contradict each other are refused (exit 2) before any file is read: whatever is
wrong with the files, the usage error is what is reported, and no output appears.  And a
combination that does not contradict (--virtual-batch-size in eval mode without tracked
statistics) runs, with the values NumPy computes.

BNORM_LARGE_GRID=1 adds file faults and subcommand variants.
"""
import json
import os
import unittest

import numpy as np

from cli_support import ScratchTestCase

LARGE = os.environ.get("BNORM_LARGE_GRID") == "1"

PREFIX_WITHOUT_STATE = "--state-prefix needs --state"
VIRTUAL_BATCHES_IN_EVAL = ("--virtual-batch-size splits the batch for its statistics, which "
                           "eval mode does not use")


class ContradictionsFirst(ScratchTestCase):
    def setUp(self):
        super().setUp()
        rng = np.random.default_rng(3)
        np.save(self.path("x.npy"), rng.standard_normal((4, 3, 2), dtype=np.float32))
        np.save(self.path("g.npy"), rng.standard_normal((4, 3, 2), dtype=np.float32))
        np.save(self.path("w.npy"), rng.standard_normal((3, 5), dtype=np.float32))
        self.path("state.json").write_text(json.dumps(
            {"running_mean": [0, 1, 2], "running_var": [1, 2, 3]}))
        # Faults that each fail a run that gets as far as reading its files.
        self.path("broken.npy").write_bytes(b"\x93NUMPY\x01\x00\x10\x00{'descr': '<f4'")
        self.path("wide_state.json").write_text(json.dumps(
            {"running_mean": [0] * 7, "running_var": [1] * 7}))

    def input_faults(self):
        faults = {"missing": "absent.npy", "broken": "broken.npy"}
        if LARGE:
            self.path("folder.npy").mkdir(exist_ok=True)
            self.path("text.npy").write_text("[[1, 2], [3")
            faults.update(folder="folder.npy", text="text.npy")
        return faults

    def assertRefused(self, args, message):
        before = sorted(p.name for p in self.dir.iterdir())
        result = self.bnorm(*args)
        self.assertEqual(result.status, 2, result)
        self.assertEqual(result.stderr, f"bnorm: error: {message}\n")
        self.assertEqual(result.stdout, b"")
        self.assertEqual(sorted(p.name for p in self.dir.iterdir()), before)

    def test_state_prefix_without_state(self):
        for fault, name in self.input_faults().items():
            commands = {
                "apply": ["apply", name, "-o", "y.npy"],
                "backward": ["backward", name, "--grad-output", "g.npy", "-o", "gx.npy"],
                "fold": ["fold", name, "-o", "wf.npy", "--bias-out", "b.npy"],
                "stats --after": ["stats", name, "--after", "--plot", "p.svg"],
            }
            if LARGE:
                commands["apply --stats-out"] = ["apply", name, "-o", "y.npy", "--stats-out",
                                                 "s.json", "--mode", "eval"]
                commands["backward eval"] = ["backward", name, "--grad-output", "broken.npy",
                                             "-o", "gx.npy", "--mode", "eval"]
            for command, args in commands.items():
                with self.subTest(command=command, fault=fault):
                    self.assertRefused([*args, "--state-prefix", "layer1."],
                                       PREFIX_WITHOUT_STATE)

    def test_state_named_as_no_state_can_be(self):
        np.save(self.path("tensor_state.npy"), np.ones(3))
        self.path("folder_state.npy").mkdir()
        cells = {
            ("--state", "state.json", "--state-prefix", "bn1."):
                "--state-prefix applies to a .pt, .npz, .safetensors or .onnx --state, not "
                "state.json",
            ("--state", "tensor_state.npy"):
                "--state tensor_state.npy: a state is JSON, or a .pt, .npz, .safetensors or .onnx file "
                "of tensors, not one .npy tensor",
            ("--state", "absent_state.NPY"):
                "--state absent_state.NPY: a state is JSON, or a .pt, .npz, .safetensors or .onnx file "
                "of tensors, not one .npy tensor",
        }
        for fault, name in self.input_faults().items():
            for flags, message in cells.items():
                for command in [["apply", name, "-o", "y.npy"],
                                ["fold", name, "-o", "wf.npy", "--bias-out", "b.npy"],
                                ["backward", name, "--grad-output", "g.npy", "-o", "gx.npy"]]:
                    with self.subTest(command=command[0], fault=fault, flags=flags):
                        self.assertRefused([*command, *flags], message)
        # A folder is what is wrong with a folder, whatever its name says.
        result = self.bnorm("apply", "x.npy", "-o", "y.npy", "--state", "folder_state.npy")
        self.assertFailsWith(result, 4, "folder_state.npy: Is a directory")

    def test_channels_that_are_no_index_or_slice(self):
        # Text that is no integer, more than three parts, a step of 0: refused whatever the
        # input, since no number of channels could make it a selection.
        texts = ["zz", "1:2:3:4", "::0", "+-1", "1.5"]
        if LARGE:
            texts += ["0x1", "1::0", "--1", "a:", "5:0:0", ":::", " 1"]
        for text in texts:
            message = (f"--channels {text}: a slice's step cannot be 0" if text.endswith(":0")
                       else "--channels takes an index or a Python slice (A:B, A:B:STEP), not "
                            f"'{text}'")
            for fault, name in self.input_faults().items():
                with self.subTest(text=text, fault=fault):
                    self.assertRefused(["stats", name, "--channels", text], message)
        # An index outside the channels needs the input to be known: exit 3 after reading it.
        result = self.bnorm("stats", "x.npy", "--channels", "3")
        self.assertFailsWith(result, 3, "--channels 3 is outside the 3 channels")

    def test_virtual_batches_in_eval_mode(self):
        cells = [(name, []) for name in self.input_faults().values()]
        cells += [("x.npy", ["--state", "wide_state.json"]), ("x.npy", ["--state", "broken.npy"])]
        if LARGE:
            cells += [("broken.npy", ["--state", "wide_state.json", "--stats-out", "s.json"]),
                      ("x.npy", ["--state", "absent.json"])]
        for name, extra in cells:
            for k in ["1", "2", "4"]:
                with self.subTest(input=name, extra=extra, k=k):
                    self.assertRefused(["apply", name, "-o", "y.npy", "--mode", "eval",
                                        "--virtual-batch-size", k, *extra],
                                       VIRTUAL_BATCHES_IN_EVAL)

    def test_virtual_batches_in_eval_mode_without_tracked_statistics_run(self):
        # Without running statistics eval mode normalizes with the batch's, here each group's.
        x = np.load(self.path("x.npy")).astype(np.float64)
        for k in [1, 2, 4]:
            with self.subTest(k=k):
                result = self.bnorm("apply", "x.npy", "-o", "y.npy", "--mode", "eval",
                                    "--no-track-running-stats", "--virtual-batch-size", str(k))
                self.assertEqual(result.status, 0, result)
                # tf.keras's reshape to (K, N/K, ...): virtual batch g is samples g, g + N/K, ...
                groups = x.reshape(k, -1, *x.shape[1:])
                mean = groups.mean(axis=(0, 3), keepdims=True)
                var = groups.var(axis=(0, 3), keepdims=True)
                expected = ((groups - mean) / np.sqrt(var + 1e-5)).reshape(x.shape)
                np.testing.assert_allclose(np.load(self.path("y.npy")),
                                           expected.astype(np.float32), rtol=2e-6, atol=2e-6)


if __name__ == "__main__":
    unittest.main()
