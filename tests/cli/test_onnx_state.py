#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""An ONNX BatchNormalization node as the state of a run (--state model.onnx --state-prefix
NODE): its epsilon is the run's eps and its momentum, in the run's convention, the run's
momentum, unless --eps or --momentum is given, which then wins with one warning naming both
values.  The node's own mode (eval for an inference node, train for training_mode = 1 or,
before opset 7, is_test = 0) is the run's unless --mode is given.  Models are built here with onnx.helper; every number is compared with torch's
F.batch_norm (and autograd, and the float64 fold formula) given the node's own epsilon, which
an ONNX attribute holds as a float32.  `bnorm layers` shows each node's epsilon and momentum."""
import csv
import io
import json
import os
import unittest

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper

from cli_support import ScratchTestCase

LARGE = os.environ.get("BNORM_LARGE_GRID") == "1"
F32 = lambda v: float(np.float32(v))  # an ONNX float attribute, widened exactly
# An attribute not given takes the schema's default, a float32 too (1e-5f, 0.9f).
SCHEMA = onnx.defs.get_schema("BatchNormalization").attributes
DEFAULT_EPSILON = SCHEMA["epsilon"].default_value.f
DEFAULT_MOMENTUM = SCHEMA["momentum"].default_value.f


def make_model(path, layers, dtype=np.float32, opset=15):
    """A chain of BatchNormalization nodes, their parameters initializers.  `layers` is a list
    of (name, channels-long parameters (scale, B, mean, var), attributes)."""
    nodes, initializers, previous = [], [], "x"
    for name, (scale, shift, mean, var), attributes in layers:
        inputs = [previous]
        for part, values in zip(["scale", "B", "mean", "var"], [scale, shift, mean, var]):
            initializers.append(numpy_helper.from_array(np.asarray(values, dtype), f"{name}_{part}"))
            inputs.append(f"{name}_{part}")
        nodes.append(helper.make_node("BatchNormalization", inputs, [f"{name}_y"], name=name,
                                      **attributes))
        previous = f"{name}_y"
    elem = TensorProto.FLOAT if dtype == np.float32 else TensorProto.DOUBLE
    graph = helper.make_graph(nodes, "bns", [helper.make_tensor_value_info("x", elem, ["N", "C", "H", "W"])],
                              [helper.make_tensor_value_info(previous, elem, ["N", "C", "H", "W"])], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def parameters(rng, channels):
    return (rng.uniform(0.5, 2, channels), rng.normal(0, 1, channels),
            rng.normal(0, 2, channels), rng.uniform(1e-4, 3, channels))


def as_torch(values):
    return torch.from_numpy(np.asarray(values, np.float64))


class OnnxState(ScratchTestCase):
    def setUp(self):
        super().setUp()
        rng = np.random.default_rng(14)
        self.bn1 = parameters(rng, 3)
        self.bn2 = parameters(rng, 3)
        # bn1 says epsilon 1e-3 and momentum 0.8; bn2 says nothing: the schema's defaults.
        make_model(self.path("m.onnx"), [("bn1", self.bn1, {"epsilon": 1e-3, "momentum": 0.8}),
                                          ("bn2", self.bn2, {})])
        self.x = rng.normal(1, 3, (4, 3, 5, 2))
        np.save(self.path("x.npy"), self.x)

    def f32(self, values):
        return np.asarray(values, np.float32).astype(np.float64)

    def torch_eval(self, params, eps):
        scale, shift, mean, var = (as_torch(self.f32(p)) for p in params)
        return F.batch_norm(as_torch(self.x), mean, var, scale, shift, False, 0.0, eps).numpy()

    def apply(self, *flags):
        return self.bnorm("apply", "x.npy", "-o", "y.npy", "--state", "m.onnx", *flags)

    def test_eval_takes_the_node_epsilon(self):
        for convention in ["torch", "onnx", "keras"]:
            with self.subTest(convention=convention):
                result = self.apply("--state-prefix", "bn1", "--mode", "eval", "--convention",
                                    convention, "--axis", "1")
                self.assertEqual(result.status, 0, result)
                self.assertEqual(result.stderr, "")
                y = np.load(self.path("y.npy"))
                want = self.torch_eval(self.bn1, F32(1e-3))
                np.testing.assert_allclose(y, want, rtol=1e-13, atol=1e-13)
                # The convention's own eps would give another output.
                self.assertGreater(np.max(np.abs(y - self.torch_eval(self.bn1, 1e-5))), 1e-6)
        # A node without the attribute has the schema's default.
        self.assertEqual(self.apply("--state-prefix", "bn2", "--mode", "eval",
                                    "--convention", "keras", "--axis", "1").status, 0)
        np.testing.assert_allclose(np.load(self.path("y.npy")),
                                   self.torch_eval(self.bn2, DEFAULT_EPSILON), rtol=1e-13,
                                   atol=1e-13)
        _, doc = self.stats("--state-prefix", "bn2", "--convention", "onnx")
        self.assertEqual((doc["eps"], doc["momentum"]), (DEFAULT_EPSILON, DEFAULT_MOMENTUM))

    def test_a_given_eps_wins_with_one_warning_naming_both(self):
        result = self.apply("--state-prefix", "bn1", "--mode", "eval", "--eps", "0.01")
        self.assertEqual(result.status, 0, result)
        self.assertEqual(result.stderr, "bnorm: warning: --eps 0.01 overrides m.onnx's layer "
                         "'bn1', whose epsilon is 0.0010000000474974513\n")
        np.testing.assert_allclose(np.load(self.path("y.npy")), self.torch_eval(self.bn1, 0.01),
                                   rtol=1e-13, atol=1e-13)
        # The same number, as the attribute holds it, is no difference.
        result = self.apply("--state-prefix", "bn1", "--mode", "eval", "--eps",
                            repr(F32(1e-3)))
        self.assertEqual((result.status, result.stderr), (0, ""))

    def stats(self, *flags):
        """A train-mode run, which updates the running statistics with the momentum."""
        result = self.apply("--stats-out", "s.json", "--mode", "train", *flags)
        self.assertEqual(result.status, 0, result)
        return result, json.loads(self.path("s.json").read_text())

    def test_train_takes_the_node_momentum_in_the_run_convention(self):
        x = as_torch(self.x)
        scale, shift, mean, var = (as_torch(self.f32(p)) for p in self.bn1)
        # Under torch: ONNX's 0.8 (a float32) weighs the old value, so PyTorch's is 1 - 0.8f.
        result, doc = self.stats("--state-prefix", "bn1")
        self.assertEqual(result.stderr, "")
        self.assertEqual(doc["eps"], F32(1e-3))
        self.assertEqual(doc["momentum"], 1 - F32(0.8))
        self.assertEqual(doc["momentum_meaning"], "weight of the new batch")
        running_mean, running_var = mean.clone(), var.clone()
        want = F.batch_norm(x, running_mean, running_var, scale, shift, True, 1 - F32(0.8),
                            F32(1e-3)).numpy()
        np.testing.assert_allclose(np.load(self.path("y.npy")), want, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(doc["running_mean"], running_mean.numpy(), rtol=1e-13)
        np.testing.assert_allclose(doc["running_var"], running_var.numpy(), rtol=1e-13)
        # Under onnx: the node's own number, and ONNX's update with the biased variance.
        result, doc = self.stats("--state-prefix", "bn1", "--convention", "onnx")
        self.assertEqual(result.stderr, "")
        self.assertEqual(doc["momentum"], F32(0.8))
        self.assertEqual(doc["momentum_meaning"], "weight of the old value")
        m = F32(0.8)
        np.testing.assert_allclose(
            doc["running_mean"], m * mean.numpy() + (1 - m) * self.x.mean(axis=(0, 2, 3)),
            rtol=1e-13)
        np.testing.assert_allclose(
            doc["running_var"], m * var.numpy() + (1 - m) * self.x.var(axis=(0, 2, 3)),
            rtol=1e-13)

    def test_grid_of_attributes_conventions_and_dtypes(self):
        """Train mode: the eps, the momentum as the run's convention means it, and the running
        statistics by that convention's update, for each node attribute pair and initializer
        dtype (BNORM_LARGE_GRID=1: every combination)."""
        rng = np.random.default_rng(21)
        grid = [(eps, momentum, dtype, convention)
                for eps in [1e-3, 0.1, 1e-7] for momentum in [0.8, 0.99, 0.1]
                for dtype in [np.float32, np.float64]
                for convention in ["torch", "onnx", "keras", "flax"]]
        if not LARGE:
            grid = grid[::7]
        old_weight = {"torch": False, "onnx": True, "keras": True, "flax": True}
        for eps, momentum, dtype, convention in grid:
            with self.subTest(eps=eps, momentum=momentum, dtype=dtype.__name__,
                              convention=convention):
                params = parameters(rng, 3)
                make_model(self.path("g.onnx"), [("bn", params, {"epsilon": eps,
                                                                 "momentum": momentum})], dtype)
                result = self.bnorm("apply", "x.npy", "-o", "y.npy", "--state", "g.onnx",
                                    "--state-prefix", "bn", "--convention", convention,
                                    "--axis", "1", "--stats-out", "s.json", "--mode", "train")
                self.assertEqual((result.status, result.stderr), (0, ""), result)
                doc = json.loads(self.path("s.json").read_text())
                m = F32(momentum)  # the attribute, in ONNX's meaning: the old value's weight
                self.assertEqual(doc["eps"], F32(eps))
                self.assertEqual(doc["momentum"], m if old_weight[convention] else 1 - m)
                scale, shift, mean, var = (np.asarray(p, dtype).astype(np.float64) for p in params)
                batch_var = self.x.var(axis=(0, 2, 3), ddof=0 if old_weight[convention] else 1)
                np.testing.assert_allclose(
                    doc["running_mean"], m * mean + (1 - m) * self.x.mean(axis=(0, 2, 3)),
                    rtol=1e-13, atol=1e-15)
                np.testing.assert_allclose(doc["running_var"], m * var + (1 - m) * batch_var,
                                           rtol=1e-13)
                want = F.batch_norm(as_torch(self.x), None, None, as_torch(scale),
                                    as_torch(shift), True, 0.0, F32(eps)).numpy()
                np.testing.assert_allclose(np.load(self.path("y.npy")), want, rtol=1e-11,
                                           atol=1e-11)

    def test_a_given_momentum_wins_with_one_warning(self):
        result, doc = self.stats("--state-prefix", "bn1", "--momentum", "0.2")
        self.assertEqual(result.stderr, "bnorm: warning: --momentum 0.2 overrides m.onnx's layer "
                         "'bn1', whose momentum 0.800000011920929 under onnx "
                         "(0.19999998807907104 under torch)\n")
        self.assertEqual(doc["momentum"], 0.2)
        result, doc = self.stats("--state-prefix", "bn1", "--momentum", "none")
        self.assertEqual(result.stderr, "bnorm: warning: --momentum none overrides m.onnx's "
                         "layer 'bn1', whose momentum 0.800000011920929 under onnx "
                         "(0.19999998807907104 under torch)\n")
        self.assertIsNone(doc["momentum"])
        # The same number, in eval mode, or without tracking, says nothing: it is not used.
        for flags in [["--momentum", repr(1 - F32(0.8)), "--mode", "train"],
                      ["--momentum", "0.2", "--mode", "eval"],
                      ["--momentum", "0.2", "--no-track-running-stats", "--mode", "train"]]:
            with self.subTest(flags=flags):
                result = self.apply("--state-prefix", "bn1", *flags)
                self.assertEqual((result.status, result.stderr), (0, ""))

    def test_a_momentum_caffe_cannot_speak_is_not_taken(self):
        result, doc = self.stats("--state-prefix", "bn1", "--convention", "caffe", "--axis", "1")
        self.assertEqual(result.stderr, "bnorm: warning: m.onnx's layer 'bn1' has momentum "
                         "0.800000011920929 under onnx, which has no equal under caffe; its "
                         "default 0.999 is used instead\n")
        self.assertEqual(doc["momentum"], 0.999)
        self.assertEqual(doc["eps"], F32(1e-3))

    def test_verbose_says_where_eps_and_momentum_came_from(self):
        result = self.apply("--state-prefix", "bn1", "--verbose", "--mode", "train")
        self.assertEqual(result.status, 0, result)
        lines = result.stderr.splitlines()
        # A mode given is the run's: nothing is said of the node's.
        self.assertFalse(any(" mode: the mode of " in line for line in lines), lines)
        self.assertIn("bnorm: eps 0.0010000000474974513: the epsilon of m.onnx's layer 'bn1'",
                      lines)
        self.assertIn("bnorm: momentum 0.19999998807907104: the momentum 0.800000011920929 under "
                      "onnx (0.19999998807907104 under torch) of m.onnx's layer 'bn1'", lines)
        self.assertTrue(any(line.startswith("bnorm: convention torch, train mode, eps "
                                            "0.0010000000474974513") for line in lines), lines)

    def torch_train(self, params, eps, momentum):
        """F.batch_norm in train mode: the output, and the running statistics it updates."""
        scale, shift, mean, var = (as_torch(self.f32(p)) for p in params)
        y = F.batch_norm(as_torch(self.x), mean, var, scale, shift, True, momentum, eps).numpy()
        return y, mean.numpy(), var.numpy()

    def test_a_node_runs_in_its_own_mode_unless_mode_is_given(self):
        """An inference node is eval mode, a training node (training_mode = 1, or before opset 7
        is_test = 0 or absent) train mode, with the node's epsilon, as F.batch_norm computes
        them; --mode given wins, silently.  A checkpoint keeps train mode."""
        nodes = [({}, 15, False), ({"training_mode": 0}, 15, False),
                 ({"training_mode": 1}, 15, True), ({"is_test": 1}, 6, False),
                 ({"is_test": 0}, 6, True), ({}, 6, True)]
        conventions = ["torch", "onnx", "keras"] if LARGE else ["torch"]
        rng = np.random.default_rng(8)
        for attributes, opset, training in nodes:
            for convention in conventions:
                with self.subTest(attributes=attributes, opset=opset, convention=convention):
                    params = parameters(rng, 3)
                    make_model(self.path("n.onnx"),
                               [("bn", params, {"epsilon": 0.125, "momentum": 0.75,
                                                **attributes})], opset=opset)
                    run = lambda *flags: self.bnorm(
                        "apply", "x.npy", "-o", "y.npy", "--state", "n.onnx", "--state-prefix",
                        "bn", "--convention", convention, "--axis", "1", "--stats-out", "s.json",
                        *flags)
                    momentum = 0.25 if convention == "torch" else 0.75  # ONNX's 0.75, converted
                    train_y, train_mean, train_var = self.torch_train(params, 0.125, 0.25)
                    if convention != "torch":  # ONNX's and Keras's update: the biased variance
                        n = self.x.size // 3
                        train_var = train_var + 0.25 * self.x.var(axis=(0, 2, 3)) * (1 - n / (n - 1))
                    eval_y = self.torch_eval(params, 0.125)
                    for flags, want_training in [((), training), (("--mode", "train"), True),
                                                 (("--mode", "eval"), False)]:
                        result = run(*flags)
                        self.assertEqual((result.status, result.stderr), (0, ""), (flags, result))
                        doc = json.loads(self.path("s.json").read_text())
                        self.assertEqual(doc["mode"], "train" if want_training else "eval", flags)
                        self.assertEqual((doc["eps"], doc["momentum"]), (0.125, momentum))
                        y = np.load(self.path("y.npy"))
                        if want_training:
                            np.testing.assert_allclose(y, train_y, rtol=1e-12, atol=1e-12)
                            np.testing.assert_allclose(doc["running_mean"], train_mean,
                                                       rtol=1e-13)
                            np.testing.assert_allclose(doc["running_var"], train_var, rtol=1e-12)
                        else:
                            np.testing.assert_allclose(y, eval_y, rtol=1e-13, atol=1e-13)
                            np.testing.assert_allclose(doc["running_mean"], self.f32(params[2]))
        # The same layer as a checkpoint says no mode: apply's default, train.
        np.savez(self.path("c.npz"), **{f"bn.{role}": self.f32(p) for role, p in
                                        zip(["weight", "bias", "running_mean", "running_var"],
                                            self.bn1)})
        result = self.bnorm("apply", "x.npy", "-o", "y.npy", "--state", "c.npz", "--state-prefix",
                            "bn", "--stats-out", "s.json")
        self.assertEqual((result.status, result.stderr), (0, ""), result)
        self.assertEqual(json.loads(self.path("s.json").read_text())["mode"], "train")
        np.testing.assert_allclose(np.load(self.path("y.npy")),
                                   self.torch_train(self.bn1, 1e-5, 0.1)[0], rtol=1e-12,
                                   atol=1e-12)

    def test_eval_by_default_with_an_inference_node(self):
        """`apply x.npy --state m.onnx --state-prefix bn1`: the model's own layer."""
        result = self.apply("--state-prefix", "bn1")
        self.assertEqual((result.status, result.stderr), (0, ""), result)
        np.testing.assert_allclose(np.load(self.path("y.npy")), self.torch_eval(self.bn1, F32(1e-3)),
                                   rtol=1e-13, atol=1e-13)
        result = self.apply("--state-prefix", "bn1", "--verbose")
        self.assertIn("bnorm: eval mode: the mode of m.onnx's layer 'bn1'",
                      result.stderr.splitlines())
        # backward and stats --after too.
        np.save(self.path("g.npy"), np.random.default_rng(4).normal(size=self.x.shape))
        result = self.bnorm("backward", "x.npy", "--grad-output", "g.npy", "-o", "gx.npy",
                            "--state", "m.onnx", "--state-prefix", "bn1")
        self.assertEqual((result.status, result.stderr), (0, ""), result)
        x = as_torch(self.x).requires_grad_()
        scale, shift, mean, var = (as_torch(self.f32(p)) for p in self.bn1)
        F.batch_norm(x, mean, var, scale, shift, False, 0.0, F32(1e-3)).backward(
            as_torch(np.load(self.path("g.npy"))))
        np.testing.assert_allclose(np.load(self.path("gx.npy")), x.grad.numpy(), rtol=1e-12,
                                   atol=1e-12)
        result = self.bnorm("stats", "x.npy", "--after", "--plot", "p.svg", "--format", "json",
                            "--state", "m.onnx", "--state-prefix", "bn1")
        self.assertEqual(result.status, 0, result)
        self.assertIn("after normalization (torch, eval mode)", self.path("p.svg").read_text())

    def test_backward_takes_the_node_epsilon(self):
        rng = np.random.default_rng(3)
        np.save(self.path("g.npy"), rng.normal(size=self.x.shape))
        result = self.bnorm("backward", "x.npy", "--grad-output", "g.npy", "-o", "gx.npy",
                            "--state", "m.onnx", "--state-prefix", "bn1", "--mode", "eval",
                            "--grads-out", "grads.json")
        self.assertEqual(result.status, 0, result)
        x = as_torch(self.x).requires_grad_()
        scale, shift, mean, var = (as_torch(self.f32(p)).requires_grad_() for p in self.bn1)
        y = F.batch_norm(x, mean.detach(), var.detach(), scale, shift, False, 0.0, F32(1e-3))
        y.backward(as_torch(np.load(self.path("g.npy"))))
        np.testing.assert_allclose(np.load(self.path("gx.npy")), x.grad.numpy(), rtol=1e-12,
                                   atol=1e-12)
        grads = json.loads(self.path("grads.json").read_text())
        np.testing.assert_allclose(grads["grad_weight"], scale.grad.numpy(), rtol=1e-12,
                                   atol=1e-12)

    def test_fold_takes_the_node_epsilon(self):
        rng = np.random.default_rng(5)
        weight = rng.normal(size=(3, 2, 3, 3))
        np.save(self.path("w.npy"), weight)
        result = self.bnorm("fold", "w.npy", "--state", "m.onnx", "--state-prefix", "bn1",
                            "-o", "wf.npy", "--bias-out", "bf.npy")
        self.assertEqual(result.status, 0, result)
        scale, shift, mean, var = (self.f32(p) for p in self.bn1)
        s = scale / np.sqrt(var + F32(1e-3))
        np.testing.assert_allclose(np.load(self.path("wf.npy")), weight * s[:, None, None, None],
                                   rtol=1e-15)
        np.testing.assert_allclose(np.load(self.path("bf.npy")), (0 - mean) * s + shift,
                                   rtol=1e-14, atol=1e-15)

    def test_layers_shows_each_node_epsilon_and_momentum(self):
        result = self.bnorm("layers", "m.onnx", "--format", "json")
        self.assertEqual(result.status, 0, result)
        layers = json.loads(result.stdout)["layers"]
        self.assertEqual([l["prefix"] for l in layers], ["bn1.", "bn2."])
        self.assertEqual([(l["epsilon"], l["momentum"], l["momentum_convention"]) for l in layers],
                         [(F32(1e-3), F32(0.8), "onnx"),
                          (DEFAULT_EPSILON, DEFAULT_MOMENTUM, "onnx")])
        result = self.bnorm("layers", "m.onnx", "--format", "csv")
        rows = list(csv.DictReader(io.StringIO(result.stdout.decode())))
        self.assertEqual([(r["epsilon"], r["momentum"], r["momentum_convention"]) for r in rows],
                         [(repr(F32(1e-3)), repr(F32(0.8)), "onnx"),
                          (repr(DEFAULT_EPSILON), repr(DEFAULT_MOMENTUM), "onnx")])
        result = self.bnorm("layers", "m.onnx", "--format", "table")
        lines = result.stdout.decode().splitlines()
        self.assertEqual(lines[1].split()[:6], ["layer", "channels", "dtype", "batches", "eps",
                                                "momentum"])
        self.assertEqual(lines[2].split()[:6], ["bn1.", "3", "float32", "-", repr(F32(1e-3)),
                                                repr(F32(0.8))])
        self.assertIn("eps, momentum: as the file gives each layer; momentum under onnx: the "
                      "weight of the old value", lines)

    def test_a_checkpoint_shows_no_epsilon_column(self):
        for fmt in ["json", "csv", "table"]:
            result = self.bnorm("layers", "samples/model.safetensors", "--format", fmt)
            self.assertEqual(result.status, 0, result)
            self.assertNotIn(b"eps", result.stdout)
            self.assertNotIn(b"momentum", result.stdout)


if __name__ == "__main__":
    unittest.main()
