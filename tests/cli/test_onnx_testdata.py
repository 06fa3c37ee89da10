# SPDX-License-Identifier: Apache-2.0
"""ONNX's own golden cases for BatchNormalization (Debian's libonnx-testdata, node/
test_batchnorm_*): each node's inputs and expected outputs are TensorProtos written by ONNX's
reference (onnx/backend/test/case/node/batchnorm.py, float32 NumPy), run through `bnorm apply
--convention onnx` with the node's epsilon and momentum as flags.

Eval mode (the plain cases) compares Y; train mode (the _training_mode cases) compares Y and
the updated running_mean and running_var (outputs 1 and 2) from --stats-out.  The reference
computes in float32, bnorm in double rounded once, so Y may differ by the reference's own
rounding (a few float32 ulps); the running statistics must round to the reference's float32.
"""
import json
import os
import pathlib
import sys
import unittest

import numpy as np
import onnx
from onnx import helper, numpy_helper

from cli_support import ScratchTestCase

DATA = pathlib.Path("/usr/share/libonnx-testdata/data/node")
CASES = sorted(DATA.glob("test_batchnorm_*")) if DATA.is_dir() else []


def load(path):
    return numpy_helper.to_array(onnx.load_tensor(str(path)))


def node_of(case):
    """The case's one BatchNormalization node and its attributes, ONNX's defaults filled in
    (epsilon 1e-5, momentum 0.9, training_mode 0)."""
    (node,) = onnx.load(str(case / "model.onnx")).graph.node
    assert node.op_type == "BatchNormalization", node.op_type
    attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    return node, {"epsilon": 1e-5, "momentum": 0.9, "training_mode": 0, **attributes}


def float32_ulps(got, want):
    """|got - want| in units of the last place of the float32 `want`."""
    want = np.asarray(want, np.float32)
    return np.abs(np.asarray(got, np.float64) - want) / np.spacing(np.abs(want)).astype(np.float64)


@unittest.skipUnless(CASES, f"libonnx-testdata is not installed: no {DATA}/test_batchnorm_* "
                            "(apt-get install libonnx-testdata; scripts/test.sh installs it)")
class OnnxTestdata(ScratchTestCase):
    # The reference's float32 arithmetic (x - mean, / sqrt, * s, + bias, each rounded) against
    # bnorm's one rounding: |y| < 8 here, so 2e-6 is a few ulps.
    Y_TOLERANCE = 2e-6

    def test_the_cases_are_all_there(self):
        self.assertEqual([c.name for c in CASES],
                         ["test_batchnorm_epsilon", "test_batchnorm_epsilon_training_mode",
                          "test_batchnorm_example", "test_batchnorm_example_training_mode"])

    def run_case(self, case):
        node, attributes = node_of(case)
        data = case / "test_data_set_0"
        x, scale, bias, mean, var = (load(data / f"input_{i}.pb") for i in range(5))
        self.assertEqual(len(node.input), 5)
        np.save(self.path("x.npy"), x)
        np.savez(self.path("state.npz"), weight=scale, bias=bias, running_mean=mean,
                 running_var=var)
        train = attributes["training_mode"] == 1
        # The attributes are float32; repr of the widened double reads back to that number.
        result = self.bnorm("apply", "x.npy", "-o", "y.npy", "--convention", "onnx",
                            "--mode", "train" if train else "eval",
                            "--eps", repr(float(attributes["epsilon"])),
                            "--momentum", repr(float(attributes["momentum"])),
                            "--state", "state.npz", "--stats-out", "stats.json")
        self.assertEqual(result.status, 0, result)
        self.assertEqual(result.stderr, "")
        y = np.load(self.path("y.npy"))
        want_y = load(data / "output_0.pb")
        self.assertEqual(y.dtype, want_y.dtype)
        self.assertEqual(y.shape, want_y.shape)
        differences = {"Y": float(np.max(np.abs(y.astype(np.float64) - want_y))),
                       "Y ulps": float(np.max(float32_ulps(y, want_y)))}
        np.testing.assert_allclose(y, want_y, rtol=0, atol=self.Y_TOLERANCE)
        # What is left is the reference's rounding: bnorm's Y is the float64 formula (ONNX's
        # own: s * (x - mean) / sqrt(var + epsilon) + B) rounded once.
        x64 = x.astype(np.float64)
        axes = (0, *range(2, x.ndim))
        used_mean, used_var = ((x64.mean(axis=axes), x64.var(axis=axes)) if train else
                               (mean.astype(np.float64), var.astype(np.float64)))
        shaped = lambda v: np.asarray(v, np.float64).reshape(1, -1, *([1] * (x.ndim - 2)))
        exact = (shaped(scale) * (x64 - shaped(used_mean)) /
                 np.sqrt(shaped(used_var) + float(attributes["epsilon"])) + shaped(bias))
        ulps_from_exact = (np.abs(y.astype(np.float64) - exact) /
                           np.spacing(np.abs(exact).astype(np.float32)).astype(np.float64))
        self.assertLessEqual(np.max(ulps_from_exact), 0.501)
        stats = json.loads(self.path("stats.json").read_text())
        self.assertEqual(stats["eps"], float(attributes["epsilon"]))
        self.assertEqual(stats["convention"], "onnx")
        if train:
            self.assertEqual(len(node.output), 3)
            self.assertEqual(stats["running_var_fed"], "biased")
            for key, index in [("running_mean", 1), ("running_var", 2)]:
                want = load(data / f"output_{index}.pb")
                got = np.array(stats[key])
                ulps = float32_ulps(got, want)
                differences[key] = float(np.max(np.abs(got - want)))
                differences[key + " ulps"] = float(np.max(ulps))
                # bnorm's value is exact in double: it rounds to the reference's float32.
                self.assertLessEqual(np.max(ulps), 1, (key, got, want))
            # The golden tells the variances apart: running_var fed the unbiased variance
            # (PyTorch's) misses it by far more than a float32 ulp.
            unbiased = (attributes["momentum"] * var.astype(np.float64) +
                        (1 - attributes["momentum"]) * x.astype(np.float64).var(axis=axes, ddof=1))
            self.assertGreater(np.max(float32_ulps(unbiased, load(data / "output_2.pb"))), 100)
        else:
            # Eval mode passes the running statistics through.
            np.testing.assert_array_equal(stats["running_mean"], mean.astype(np.float64))
            np.testing.assert_array_equal(stats["running_var"], var.astype(np.float64))
        print(f"{case.name}: max |difference| " +
              ", ".join(f"{k} {v:.3g}" for k, v in differences.items()), file=sys.stderr)

    def test_every_case_matches_onnx_reference_outputs(self):
        for case in CASES:
            with self.subTest(case=case.name):
                self.run_case(case)


if __name__ == "__main__":
    unittest.main()
