#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Degenerate parameters, against PyTorch computed live (Debian's python3-torch):

- eps 0 with a zero variance, as a grid: eps x variance x mode x dtype x layout, for apply
  and backward.  PyTorch's InvStd gives invstd 0 in training (y = beta, gradients 0); in
  eval 1/sqrt(0) is inf and its CPU kernel's x*(w*invstd) + (b - mean*w*invstd) gives NaN
  or +-inf.
- empty batches (N = 0, or an empty inner axis) for apply, stats and backward;
- virtual batch sizes 1, 2, N, N + 1 and one that does not divide N, against tf.keras's
  reshape to (k, N/k, ...);
- states that are not states (NaN or infinite running statistics) in JSON, .npz and
  .safetensors, and numbers in messages written as their shortest round-trip text.

BNORM_LARGE_GRID=1 widens the grids (more shapes, channel positions and neighbour values).
"""
import itertools
import json
import os
import unittest
import warnings

import numpy as np
import torch
import torch.nn.functional as F

from cli_support import ScratchTestCase, write_safetensors

LARGE = os.environ.get("BNORM_LARGE_GRID") == "1"
torch.set_num_threads(1)

# name: (shape with the channel axis at `axis`, axis)
LAYOUTS = {"nc": ((6, 3), 1), "nchw": ((4, 3, 2, 2), 1), "nhwc": ((4, 2, 2, 3), -1)}
if LARGE:
    LAYOUTS.update({"ncl": ((5, 4, 7), 1), "nchw_big": ((8, 5, 3, 3), 1),
                    "ndhwc": ((3, 2, 2, 2, 4), -1), "nc_two": ((2, 5), 1)})
DTYPES = {"float32": (np.float32, torch.float32), "float64": (np.float64, torch.float64)}
TOLERANCE = {"float32": (1e-5, 1e-5), "float64": (1e-10, 1e-12)}
GRAD_TOLERANCE = {"float32": (1e-4, 1e-5), "float64": (1e-10, 1e-12)}
# What the rest of the degenerate channel holds, next to values equal to its mean.  (Not
# 1e30: PyTorch's mean of a constant 1e30 channel is off by rounding, so its variance is not
# 0 and its output is noise of ~1e16, where bnorm's is exactly beta.)
CONSTANTS = [0.75] + ([0.0, -3.0, 1e4] if LARGE else [])


def f32(values):
    """Values exactly representable in float32, so that both precisions see the same state."""
    return [float(v) for v in np.asarray(values, dtype=np.float32)]


def channel_first(x, axis):
    return np.moveaxis(x, axis, 1) if axis != 1 else x


def torch_forward_backward(x, g, axis, state, mode, eps, dtype):
    """F.batch_norm's y and autograd's gradients, in x's dtype; the channel axis moved to 1
    and back, as a contiguous NC... tensor."""
    tdtype = DTYPES[dtype][1]
    xt = torch.from_numpy(np.ascontiguousarray(channel_first(x, axis))).to(tdtype)
    xt.requires_grad_()
    weight = torch.tensor(state["weight"], dtype=tdtype, requires_grad=True)
    bias = torch.tensor(state["bias"], dtype=tdtype, requires_grad=True)
    mean = torch.tensor(state["running_mean"], dtype=tdtype)
    var = torch.tensor(state["running_var"], dtype=tdtype)
    y = F.batch_norm(xt, mean, var, weight, bias, training=mode == "train", momentum=0.1,
                     eps=eps)
    y.backward(torch.from_numpy(np.ascontiguousarray(channel_first(g, axis))).to(tdtype))
    back = (lambda t: np.moveaxis(t.detach().numpy(), 1, axis)) if axis != 1 else \
        (lambda t: t.detach().numpy())
    return (back(y), back(xt.grad), weight.grad.double().tolist(), bias.grad.double().tolist(),
            mean.double().tolist(), var.double().tolist())


def ghost_batch_norm(x, k, eps, weight, bias):
    """tf.keras BatchNormalization(virtual_batch_size=k), channels last: reshape to
    (k, N/k, ...), moments over axis 0 and the inner axes (virtual batch g holds samples g,
    g + N/k, ...); the running statistics take the mean of the virtual batches' moments."""
    groups = x.astype(np.float64).reshape((k, -1) + x.shape[1:])
    axes = (0,) + tuple(range(2, groups.ndim - 1))
    means, variances = groups.mean(axis=axes), groups.var(axis=axes)
    shape = (1, means.shape[0]) + (1,) * (groups.ndim - 3) + (means.shape[1],)
    inv = np.array(weight) / np.sqrt(variances.reshape(shape) + eps)
    y = groups * inv + (np.array(bias) - means.reshape(shape) * inv)
    return y.reshape(x.shape), means.mean(axis=0), variances.mean(axis=0)


class Degenerate(ScratchTestCase):
    def setUp(self):
        super().setUp()
        self.rng = np.random.default_rng(2026)

    def assertSameValues(self, got, want, rtol, atol, what, magnitude=None):
        """NaN where the reference has NaN, the same infinities, and finite values within
        rtol/atol plus a few ulp of `magnitude`, the size of the terms PyTorch's linear form
        x*(w*invstd) + (b - mean*w*invstd) cancels (its float32 rounding, not bnorm's)."""
        self.assertEqual(got.shape, want.shape, what)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=f"NaN at {what}")
        finite = np.isfinite(want)
        np.testing.assert_array_equal(got[~finite], want[~finite], err_msg=f"inf at {what}")
        slack = atol + rtol * np.abs(want[finite].astype(np.float64))
        if magnitude is not None:
            slack = slack + 4 * np.finfo(want.dtype).eps * magnitude[finite]
        error = np.abs(got[finite].astype(np.float64) - want[finite])
        self.assertTrue(np.all(error <= slack),
                        f"{what}: max error {error.max(initial=0)}, got {got}, want {want}")

    @staticmethod
    def linear_form_magnitude(x, axis, state, mode, eps):
        """|w*invstd|*(|x| + |mean|) per element, with the statistics PyTorch uses."""
        xc = channel_first(x.astype(np.float64), axis)
        axes = tuple(d for d in range(xc.ndim) if d != 1)
        mean = xc.mean(axis=axes) if mode == "train" else np.array(state["running_mean"])
        var = xc.var(axis=axes) if mode == "train" else np.array(state["running_var"])
        with np.errstate(divide="ignore"):
            alpha = np.abs(np.array(state["weight"])) / np.sqrt(var + eps)
        alpha[~np.isfinite(alpha)] = 0  # those outputs are NaN or inf, compared exactly
        shape = (1, -1) + (1,) * (xc.ndim - 2)
        m = alpha.reshape(shape) * (np.abs(xc) + np.abs(mean).reshape(shape))
        return np.moveaxis(m, 1, axis) if axis != 1 else m

    def grid_case(self, layout, dtype, mode, eps, zero_var, position, constant):
        shape, axis = LAYOUTS[layout]
        channels = shape[axis]
        c0 = position % channels
        x = channel_first(self.rng.normal(1.0, 2.0, size=shape), axis)  # a view, channel at 1
        state = {"weight": f32(self.rng.uniform(0.5, 2.0, channels)),
                 "bias": f32(self.rng.normal(size=channels)),
                 "running_mean": f32(self.rng.normal(size=channels)),
                 "running_var": f32(self.rng.uniform(0.5, 2.0, channels))}
        state["weight"][(c0 + 1) % channels] *= -1
        if zero_var and mode == "train":
            x[:, c0] = constant
        if zero_var and mode == "eval":
            state["running_var"][c0] = 0.0
            state["running_mean"][c0] = f32([constant])[0]
            flat = x[:, c0].reshape(-1)
            x[:, c0] = np.where(np.arange(flat.size).reshape(x[:, c0].shape) % 3 == 0, constant,
                                x[:, c0])
            x[(0, c0) + (0,) * (x.ndim - 2)] = 0.0
        x = np.moveaxis(x, 1, axis).astype(DTYPES[dtype][0])
        x = np.ascontiguousarray(x)
        g = self.rng.normal(size=shape).astype(x.dtype)
        g.reshape(-1)[0] = 0.0
        return x, g, axis, state

    def test_eps_zero_and_zero_variance_grid_against_torch(self):
        cells = 0
        positions = [0, 1, -1] if LARGE else [0]
        for layout, dtype, mode, eps, zero_var, position, constant in itertools.product(
                LAYOUTS, DTYPES, ("train", "eval"), (0.0, 1e-5), (True, False), positions,
                CONSTANTS):
            if not zero_var and constant != CONSTANTS[0]:
                continue
            with self.subTest(layout=layout, dtype=dtype, mode=mode, eps=eps, zero_var=zero_var,
                              position=position, constant=constant):
                x, g, axis, state = self.grid_case(layout, dtype, mode, eps, zero_var, position,
                                                   constant)
                np.save(self.path("x.npy"), x)
                np.save(self.path("g.npy"), g)
                self.path("state.json").write_text(json.dumps(state))
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    y, gi, gw, gb, _, _ = torch_forward_backward(x, g, axis, state, mode, eps,
                                                                dtype)
                common = ["--mode", mode, "--eps", repr(eps), "--state", "state.json",
                          "--axis", str(axis)]
                result = self.bnorm("apply", "x.npy", "-o", "y.npy", *common)
                self.assertEqual(result.status, 0, result)
                rtol, atol = TOLERANCE[dtype]
                self.assertSameValues(np.load(self.path("y.npy")), y, rtol, atol, "y",
                                      self.linear_form_magnitude(x, axis, state, mode, eps))
                result = self.bnorm("backward", "x.npy", "--grad-output", "g.npy", "-o",
                                    "gi.npy", "--grads-out", "grads.json", *common)
                self.assertEqual(result.status, 0, result)
                rtol, atol = GRAD_TOLERANCE[dtype]
                self.assertSameValues(np.load(self.path("gi.npy")), gi, rtol, atol,
                                      "grad_input")
                grads = json.loads(self.path("grads.json").read_text())
                self.assertSameValues(np.array(grads["grad_weight"]), np.array(gw), rtol,
                                      atol * 100, "grad_weight")
                self.assertSameValues(np.array(grads["grad_bias"]), np.array(gb), rtol,
                                      atol * 100, "grad_bias")
                cells += 1
        print(f"eps/variance grid: {cells} cells, apply and backward each")

    def test_fold_refuses_an_infinite_scale(self):
        state = {"weight": [1.0, 2.0], "bias": [0.0, 0.5], "running_mean": [0.0, 1.0],
                 "running_var": [1.0, 0.0]}
        self.path("state.json").write_text(json.dumps(state))
        np.save(self.path("w.npy"), self.rng.normal(size=(2, 3)))
        self.assertFailsWith(self.bnorm("fold", "w.npy", "--eps", "0", "--state", "state.json",
                                        "-o", "wf.npy", "--bias-out", "bf.npy"), 3, "state.json", "channel 1",
                             "running_var + eps is 0")
        self.assertFalse(self.path("wf.npy").exists())
        state["weight"][1] = 1e300
        state["running_var"][1] = 1e-300
        self.path("state.json").write_text(json.dumps(state))
        self.assertFailsWith(self.bnorm("fold", "w.npy", "--eps", "0", "--state", "state.json",
                                        "-o", "wf.npy", "--bias-out", "bf.npy"), 3, "channel 1",
                             "is Infinity")
        # With eps > 0 the same zero running_var folds, finite.
        self.assertEqual(self.bnorm("fold", "w.npy", "--state", "state.json", "-o",
                                    "wf.npy", "--bias-out", "bf.npy").status, 0)


EMPTY_SHAPES = {"nc": ((0, 3), 1), "nchw": ((0, 3, 4, 4), 1), "nhwc": ((0, 4, 4, 3), -1),
                "empty_inner": ((2, 3, 0), 1)}


class EmptyBatch(ScratchTestCase):
    def setUp(self):
        super().setUp()
        self.state = {"weight": [1.5, -0.5, 2.0], "bias": [0.1, 0.2, -0.3],
                      "running_mean": [1.0, 2.0, 3.0], "running_var": [4.0, 9.0, 0.5],
                      "num_batches_tracked": 2}
        self.path("state.json").write_text(json.dumps(self.state))

    def torch_module(self, shape, momentum):
        cls = {2: torch.nn.BatchNorm1d, 3: torch.nn.BatchNorm1d, 4: torch.nn.BatchNorm2d}
        module = cls[len(shape)](3, momentum=momentum).double()
        with torch.no_grad():
            for key in ("weight", "bias", "running_mean", "running_var"):
                getattr(module, key).copy_(torch.tensor(self.state[key]))
            module.num_batches_tracked.fill_(self.state["num_batches_tracked"])
        return module

    def test_apply_train_and_eval(self):
        for (name, (shape, axis)), dtype, momentum in itertools.product(
                EMPTY_SHAPES.items(), ("float32", "float64"), (0.1, None)):
            with self.subTest(layout=name, dtype=dtype, momentum=momentum):
                x = np.zeros(shape, dtype=dtype)
                np.save(self.path("x.npy"), x)
                module = self.torch_module(np.moveaxis(x, axis, 1).shape, momentum)
                y = module(torch.from_numpy(np.moveaxis(x, axis, 1).astype(np.float64)))
                result = self.bnorm("apply", "x.npy", "-o", "y.npy", "--axis", str(axis),
                                    "--state", "state.json", "--momentum",
                                    "none" if momentum is None else "0.1",
                                    "--stats-out", "s.json")
                self.assertEqual(result.status, 0, result)
                out = np.load(self.path("y.npy"))
                self.assertEqual((out.shape, out.dtype), (x.shape, x.dtype))
                self.assertEqual(tuple(y.shape), np.moveaxis(out, axis, 1).shape)
                stats = json.loads(self.path("s.json").read_text())
                self.assertEqual(stats["running_mean"], module.running_mean.tolist())
                self.assertEqual(stats["running_var"], module.running_var.tolist())
                self.assertEqual(stats["num_batches_tracked"], int(module.num_batches_tracked))
                self.assertEqual(stats["count"], 0)
                self.assertTrue(all(np.isnan(stats["mean"])) and all(np.isnan(stats["var"])))
                result = self.bnorm("apply", "x.npy", "-o", "ye.npy", "--axis", str(axis),
                                    "--state", "state.json", "--mode", "eval")
                self.assertEqual(result.status, 0, result)
                self.assertEqual(np.load(self.path("ye.npy")).shape, x.shape)

    def test_stats_of_an_empty_batch(self):
        # As NumPy and torch: mean and var of no values are NaN; no extremes either.
        x = np.zeros((0, 3, 4, 4), dtype=np.float32)
        np.save(self.path("x.npy"), x)
        result = self.bnorm("stats", "x.npy", "--format", "json")
        self.assertEqual(result.status, 0, result)
        doc = json.loads(result.stdout)
        self.assertEqual(doc["count"], 0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want_mean = torch.from_numpy(x).mean(dim=(0, 2, 3)).tolist()
            want_var = torch.from_numpy(x).var(dim=(0, 2, 3), unbiased=False).tolist()
        for key, want in (("mean", want_mean), ("var", want_var), ("min", [np.nan] * 3),
                          ("max", [np.nan] * 3), ("var_unbiased", [np.nan] * 3)):
            np.testing.assert_array_equal(doc[key], want, err_msg=key)
        self.assertEqual(doc["nonfinite"], [0, 0, 0])
        self.assertEqual(doc["all"]["count"], 0)

    def test_backward_gives_zero_parameter_gradients(self):
        for name, (shape, axis) in EMPTY_SHAPES.items():
            with self.subTest(layout=name):
                x = np.zeros(shape)
                np.save(self.path("x.npy"), x)
                np.save(self.path("g.npy"), x)
                module = self.torch_module(np.moveaxis(x, axis, 1).shape, 0.1)
                xt = torch.from_numpy(np.moveaxis(x, axis, 1).copy()).requires_grad_()
                module(xt).backward(torch.zeros_like(xt))
                result = self.bnorm("backward", "x.npy", "--grad-output", "g.npy", "-o",
                                    "gi.npy", "--grads-out", "grads.json", "--axis", str(axis),
                                    "--state", "state.json")
                self.assertEqual(result.status, 0, result)
                self.assertEqual(np.load(self.path("gi.npy")).shape, x.shape)
                grads = json.loads(self.path("grads.json").read_text())
                self.assertEqual(grads["grad_weight"], module.weight.grad.tolist())
                self.assertEqual(grads["grad_bias"], module.bias.grad.tolist())

    def test_other_conventions_refuse_to_make_their_state_nan(self):
        np.save(self.path("x.npy"), np.zeros((0, 3, 2, 2), dtype=np.float32))
        for convention in ("keras", "onnx", "tf-fused", "caffe", "flax"):
            with self.subTest(convention=convention):
                self.assertFailsWith(self.bnorm("apply", "x.npy", "-o", "y.npy", "--convention",
                                                convention, "--axis", "1"), 3, "empty batch",
                                     convention, "NaN")
                self.assertFalse(self.path("y.npy").exists())
                result = self.bnorm("apply", "x.npy", "-o", "y.npy", "--convention", convention,
                                    "--axis", "1", "--no-track-running-stats")
                self.assertEqual(result.status, 0, result)
                self.path("y.npy").unlink()

    def test_json_output_only_where_nested_arrays_keep_the_shape(self):
        """An empty array keeps no dimension below it: JSON output of such a shape is refused
        (exit 3, nothing written), every other shape round-trips.  Python's json module and
        np.array decide which shapes survive."""
        shapes = [s for rank in (2, 3) for s in itertools.product((0, 1, 3), repeat=rank)
                  if 0 in s]
        for shape in shapes:
            with self.subTest(shape=shape):
                x = np.zeros(shape, np.float32)
                np.save(self.path("x.npy"), x)
                survives = np.array(json.loads(json.dumps(x.tolist()))).shape == shape
                self.path("y.json").unlink(missing_ok=True)
                result = self.bnorm("convert", "x.npy", "y.json")
                if survives:
                    self.assertEqual(result.status, 0, result)
                    self.assertEqual(np.array(json.loads(self.path("y.json").read_text())).shape,
                                     shape)
                else:
                    self.assertFailsWith(result, 3, "y.json", "JSON cannot hold the shape")
                    self.assertFalse(self.path("y.json").exists())
                if shape[1] > 0:  # a batch with channels: apply writes its output the same way
                    result = self.bnorm("apply", "x.npy", "-o", "y.json")
                    self.assertEqual(result.status, 0 if survives else 3, result)

    def test_a_batch_without_channels_is_refused(self):
        for shape, axis in (((4, 0), 1), ((4, 0, 2, 2), 1), ((0, 0), 1), ((2, 2, 0), -1)):
            with self.subTest(shape=shape):
                np.save(self.path("x.npy"), np.zeros(shape, dtype=np.float32))
                first = np.moveaxis(np.zeros(shape), axis, 1).shape
                module = (torch.nn.BatchNorm2d if len(first) == 4 else torch.nn.BatchNorm1d)(0)
                with self.assertRaises((RuntimeError, IndexError)):  # torch.nn's layers fail
                    module(torch.zeros(first))
                self.assertFailsWith(self.bnorm("apply", "x.npy", "-o", "y.npy", "--axis",
                                                str(axis)), 3, "x.npy", "no channels")


class VirtualBatches(ScratchTestCase):
    def test_virtual_batch_sizes_against_tf_keras(self):
        rng = np.random.default_rng(8)
        for shape in [(8, 3, 3, 2), (6, 4)] + ([(12, 2, 5), (9, 2, 2, 3)] if LARGE else []):
            n = shape[0]
            x = rng.normal(1.0, 2.0, size=shape).astype(np.float32)
            x[1::3] += 4.0  # samples that differ, so that the grouping shows
            np.save(self.path("x.npy"), x)
            channels = shape[-1]
            state = {"weight": f32(rng.uniform(0.5, 2.0, channels)),
                     "bias": f32(rng.normal(size=channels))}
            self.path("state.json").write_text(json.dumps(state))
            divisors = [k for k in range(1, n + 1) if n % k == 0]
            for k in divisors:
                with self.subTest(shape=shape, k=k):
                    y, mean, var = ghost_batch_norm(x, k, 1e-3, state["weight"], state["bias"])
                    result = self.bnorm("apply", "x.npy", "-o", "y.npy", "--convention", "keras",
                                        "--virtual-batch-size", str(k), "--state", "state.json",
                                        "--stats-out", "s.json")
                    self.assertEqual(result.status, 0, result)
                    np.testing.assert_allclose(np.load(self.path("y.npy")), y, rtol=1e-5,
                                               atol=1e-5)
                    stats = json.loads(self.path("s.json").read_text())
                    np.testing.assert_allclose(stats["running_mean"], 0.01 * mean, rtol=1e-10)
                    np.testing.assert_allclose(stats["running_var"], 0.99 + 0.01 * var,
                                               rtol=1e-10)
            for k in [k for k in range(2, n + 2) if n % k != 0]:  # N + 1 and non-divisors
                with self.subTest(shape=shape, k=k):
                    self.assertFailsWith(self.bnorm("apply", "x.npy", "-o", "refused.npy",
                                                    "--convention", "keras",
                                                    "--virtual-batch-size", str(k)), 3,
                                         "does not split into", "must divide the batch size")
                    self.assertFalse(self.path("refused.npy").exists())

    def test_an_empty_batch_with_virtual_batches(self):
        np.save(self.path("x.npy"), np.zeros((0, 3), dtype=np.float32))
        result = self.bnorm("apply", "x.npy", "-o", "y.npy", "--virtual-batch-size", "4")
        self.assertEqual(result.status, 0, result)
        self.assertEqual(np.load(self.path("y.npy")).shape, (0, 3))


def nonfinite_states():
    """(key, value) pairs a running statistic of finite batches cannot hold."""
    for key, value in (("running_var", float("nan")), ("running_var", float("inf")),
                       ("running_var", float("-inf")), ("running_mean", float("nan")),
                       ("running_mean", float("inf")), ("running_mean", float("-inf"))):
        yield key, value


class StateThatIsNotAState(ScratchTestCase):
    def setUp(self):
        super().setUp()
        self.base = {"weight": [1.0, 2.0, 0.5], "bias": [0.0, 0.1, 0.2],
                     "running_mean": [0.5, 1.0, -1.0], "running_var": [1.0, 2.0, 3.0]}
        np.save(self.path("x.npy"), np.random.default_rng(3).normal(size=(4, 3, 2, 2)))
        np.save(self.path("w.npy"), np.ones((3, 2)))

    def write_state(self, fmt, state):
        arrays = {k: np.array(v, dtype=np.float64) for k, v in state.items()}
        if fmt == "json":
            self.path("state.json").write_text(json.dumps(state))
        elif fmt == "npz":
            np.savez(self.path("state.npz"), **arrays)
        else:
            write_safetensors(self.path("state.safetensors"),
                              {k: ("F64", v.shape, v.tobytes()) for k, v in arrays.items()})
        return f"state.{fmt}"

    def commands(self, name):
        return {"apply train": ["apply", "x.npy", "-o", "y.npy", "--state", name],
                "apply eval": ["apply", "x.npy", "-o", "y.npy", "--mode", "eval", "--state", name],
                "backward": ["backward", "x.npy", "--grad-output", "x.npy", "-o", "y.npy",
                             "--state", name],
                "fold": ["fold", "w.npy", "-o", "y.npy", "--bias-out", "b.npy", "--state", name],
                "stats --after": ["stats", "x.npy", "--after", "--plot", "y.npy", "--state", name]}

    def test_nonfinite_running_statistics_are_invalid_data(self):
        for fmt, (key, value), channel in itertools.product(("json", "npz", "safetensors"),
                                                             nonfinite_states(), (0, 2)):
            state = json.loads(json.dumps(self.base))
            state[key][channel] = value
            name = self.write_state(fmt, state)
            spelled = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}[repr(value)]
            for command, args in self.commands(name).items():
                with self.subTest(fmt=fmt, key=key, value=value, channel=channel,
                                  command=command):
                    what = "NaN" if np.isnan(value) else "infinite"
                    self.assertFailsWith(self.bnorm(*args), 3, name, f"{key}[{channel}] is {what}",
                                         f"({spelled})")
                    self.assertFalse(self.path("y.npy").exists())

    def test_messages_print_shortest_round_trip_numbers(self):
        for fmt, (value, text) in itertools.product(
                ("json", "npz", "safetensors"),
                ((-1e-300, "-1e-300"), (-0.30000000000000004, "-0.30000000000000004"),
                 (-5e-324, "-5e-324"), (-123456789.12345679, "-123456789.12345679"))):
            with self.subTest(fmt=fmt, value=value):
                self.assertEqual(repr(value), text)  # Python's repr is the shortest round trip
                state = json.loads(json.dumps(self.base))
                state["running_var"][1] = value
                name = self.write_state(fmt, state)
                self.assertFailsWith(self.bnorm("apply", "x.npy", "-o", "y.npy", "--state", name),
                                     3, f"running_var[1] is negative ({text})")

    def test_warning_and_verbose_numbers_are_shortest_round_trip(self):
        momentum = 0.7000000000000001
        result = self.bnorm("apply", "x.npy", "-o", "y.npy", "--momentum", repr(momentum))
        self.assertEqual(result.status, 0, result)
        warning = result.stderr
        self.assertIn(f"--momentum {momentum!r} ", warning)
        self.assertIn(f"running = {1 - momentum!r}*old + {momentum!r}*batch", warning)
        self.assertIn(f"writes this as {1 - momentum!r}", warning)
        eps = 0.30000000000000004
        result = self.bnorm("apply", "x.npy", "-o", "y2.npy", "--eps", repr(eps), "-v")
        self.assertEqual(result.status, 0, result)
        self.assertIn(f"eps {eps!r},", result.stderr)


if __name__ == "__main__":
    unittest.main()
