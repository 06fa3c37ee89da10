#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""`bnorm fold` against running the two layers separately: a Linear or a convolution, then
eval-mode batch normalization with bnorm apply, equals the folded layer alone."""
import json
import unittest

import numpy as np

from cli_support import ScratchTestCase


class Fold(ScratchTestCase):
    def setUp(self):
        super().setUp()
        self.rng = np.random.default_rng(71)
        state = {"weight": [1.5, -0.5, 2.0, 0.25], "bias": [0.1, 0.2, -0.3, 0.0],
                 "running_mean": [1.0, -2.0, 0.5, 3.0], "running_var": [4.0, 0.25, 1.0, 9.0]}
        self.path("state.json").write_text(json.dumps(state))

    def test_linear_layer(self):
        x = self.rng.normal(size=(16, 6))
        w = self.rng.normal(size=(4, 6))  # PyTorch Linear(6, 4): (out, in)
        b = self.rng.normal(size=4)
        np.save(self.path("w.npy"), w)
        np.save(self.path("b.npy"), b)
        np.save(self.path("h.npy"), x @ w.T + b)
        self.assertEqual(self.bnorm("apply", "h.npy", "-o", "two_steps.npy", "--mode", "eval",
                                    "--state", "state.json").status, 0)
        result = self.bnorm("fold", "w.npy", "--bias", "b.npy", "--state", "state.json",
                            "-o", "wf.npy", "--bias-out", "bf.npy")
        self.assertEqual(result.status, 0, result)
        folded = x @ np.load(self.path("wf.npy")).T + np.load(self.path("bf.npy"))
        np.testing.assert_allclose(folded, np.load(self.path("two_steps.npy")), rtol=1e-12,
                                   atol=1e-12)

    def test_convolution_without_bias(self):
        # A 1x1 convolution is a matrix product over channels: W (out, in, 1, 1).
        x = self.rng.normal(size=(2, 3, 5, 5)).astype(np.float32)
        w = self.rng.normal(size=(4, 3, 1, 1)).astype(np.float32)
        h = np.einsum("oi,nihw->nohw", w[:, :, 0, 0], x)
        np.save(self.path("w.npy"), w)
        np.save(self.path("h.npy"), h)
        self.assertEqual(self.bnorm("apply", "h.npy", "-o", "two_steps.npy", "--mode", "eval",
                                    "--state", "state.json").status, 0)
        result = self.bnorm("fold", "w.npy", "--state", "state.json", "-o", "wf.npy",
                            "--bias-out", "bf.json")
        self.assertEqual(result.status, 0, result)
        wf = np.load(self.path("wf.npy"))
        self.assertEqual(wf.dtype, np.float32)
        bf = np.array(json.loads(self.path("bf.json").read_text()))
        folded = np.einsum("oi,nihw->nohw", wf[:, :, 0, 0].astype(np.float64), x.astype(np.float64))
        folded += bf[None, :, None, None]
        np.testing.assert_allclose(folded, np.load(self.path("two_steps.npy")), rtol=1e-5,
                                   atol=1e-5)

    def test_keras_kernel_with_output_channels_last(self):
        x = self.rng.normal(size=(8, 5))
        kernel = self.rng.normal(size=(5, 4))  # Keras Dense: (in, out)
        np.save(self.path("k.npy"), kernel)
        np.save(self.path("h.npy"), x @ kernel)
        self.assertEqual(self.bnorm("apply", "h.npy", "-o", "two_steps.npy", "--mode", "eval",
                                    "--state", "state.json", "--convention", "keras").status, 0)
        result = self.bnorm("fold", "k.npy", "--axis", "-1", "--convention", "keras", "--state",
                            "state.json", "-o", "kf.npy", "--bias-out", "bf.npy")
        self.assertEqual(result.status, 0, result)
        folded = x @ np.load(self.path("kf.npy")) + np.load(self.path("bf.npy"))
        np.testing.assert_allclose(folded, np.load(self.path("two_steps.npy")), rtol=1e-12)

    def test_errors(self):
        np.save(self.path("w.npy"), np.ones((3, 2)))
        self.assertFailsWith(self.bnorm("fold", "w.npy", "--state", "state.json", "-o", "wf.npy",
                                        "--bias-out", "bf.npy"), 3, "4 values", "3 channels")
        self.path("s.json").write_text('{"weight": [1, 1, 1]}')
        self.assertFailsWith(self.bnorm("fold", "w.npy", "--state", "s.json", "-o", "wf.npy",
                                        "--bias-out", "bf.npy"), 2, "running_mean")
        self.assertNoStrayFiles("s.json", "state.json", "w.npy")

    def test_folded_values_that_the_output_type_cannot_hold(self):
        """A finite weight or bias that rounds to ±inf in the output's type is refused (exit 3,
        nothing written), whatever the type; NumPy's cast of the float64 fold decides which."""
        for dtype in (np.float16, np.float32, np.float64):
            half_of_largest = float(np.finfo(dtype).max) / 2
            for overflow in ("none", "weight", "bias"):
                with self.subTest(dtype=np.dtype(dtype).name, overflow=overflow):
                    for old in ("wf.npy", "bf.npy"):
                        self.path(old).unlink(missing_ok=True)
                    w = np.ones((3, 2), dtype)
                    gamma, mean = [1.0, 10.0, 1.0], [0.0, 0.0, 0.0]
                    if overflow == "weight":
                        w[1] = half_of_largest
                    if overflow == "bias":
                        mean[1] = -half_of_largest
                    np.save(self.path("w.npy"), w)
                    state = {"running_mean": mean, "running_var": [1, 1, 1], "weight": gamma}
                    self.path("s.json").write_text(json.dumps(state))
                    scale = np.array(gamma) / np.sqrt(np.ones(3) + 1e-5)
                    with np.errstate(over="ignore"):
                        folded_w = (w.astype(np.float64) * scale[:, None]).astype(dtype)
                        folded_b = (-np.array(mean) * scale).astype(dtype)
                    fits = np.isfinite(folded_w).all() and np.isfinite(folded_b).all()
                    self.assertEqual(fits, overflow == "none")  # the grid means what it says
                    result = self.bnorm("fold", "w.npy", "--state", "s.json", "-o", "wf.npy",
                                        "--bias-out", "bf.npy")
                    if fits:
                        self.assertEqual(result.status, 0, result)
                        np.testing.assert_array_equal(np.load(self.path("wf.npy")), folded_w)
                        np.testing.assert_array_equal(np.load(self.path("bf.npy")), folded_b)
                    else:
                        self.assertFailsWith(result, 3, "s.json", "channel 1",
                                             f"folded {overflow}", np.dtype(dtype).name)
                        self.assertNoStrayFiles("s.json", "state.json", "w.npy")

if __name__ == "__main__":
    unittest.main()
