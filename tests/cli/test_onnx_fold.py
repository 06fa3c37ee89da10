#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""`bnorm fold MODEL.onnx`: every model of onnx_models.py folded, and checked against the
references: onnx.checker accepts the result; the folded weights and biases are, bit for bit,
the float64 formula computed here with NumPy and rounded once to their type; the folded graph
computes what the original computes (both run here with torch.nn.functional on the same
inputs); the report names every BatchNormalization with the right reason; and everything the
fold has no business with is kept as it was.

BNORM_LARGE_GRID=1 adds a deeper model (and more inputs) to the grid."""
import itertools
import json
import math
import os
import pathlib
import shutil
import subprocess
import sys
import time
import unittest

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import onnx_models  # noqa: E402
from cli_support import BNORM, SAMPLES, SOURCE_DIR, ScratchTestCase, run  # noqa: E402

LARGE = os.environ.get("BNORM_LARGE_GRID") == "1"
# Runs argv[1:] and prints its peak resident memory in KiB and its exit status.
PEAK_MEMORY = """import os, sys
pid = os.fork()
if pid == 0:
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(usage.ru_maxrss, os.waitstatus_to_exitcode(status))"""
FOLDABLE = {"Conv", "ConvTranspose", "Gemm"}
# How close the folded graph's output must be to the original's, by the weights' type: the
# fold rounds each weight once, and the two graphs add their products in different orders.
TOLERANCE = {np.float16: 2e-2, np.float32: 2e-5, np.float64: 1e-12}


def attributes(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def epsilon_of(node):
    """The node's epsilon, else the schema's default (a float attribute, 1e-5f)."""
    default = onnx.defs.get_schema("BatchNormalization").attributes["epsilon"].default_value.f
    return float(attributes(node).get("epsilon", default))


def constants(graph):
    """Every constant of the graph by name: initializers and Constant nodes' values."""
    values = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant":
            a = attributes(node)
            if "value" in a:
                values[node.output[0]] = numpy_helper.to_array(a["value"])
            elif "value_floats" in a:
                values[node.output[0]] = np.array(a["value_floats"], dtype=np.float32)
    return values


# A tiny evaluator of the ops the models use, on torch.nn.functional.
def run_graph(graph, env, compute):
    for node in graph.node:
        a = attributes(node)
        x = [env[name] if name else None for name in node.input]
        op = node.op_type
        if op == "Constant":
            value = a.get("value")
            out = (numpy_helper.to_array(value) if value is not None
                   else np.array(a["value_floats"], dtype=np.float32))
            out = torch.from_numpy(np.array(out))
            if out.is_floating_point():
                out = out.to(compute)
        elif op == "Conv":
            pads = a.get("pads", [0, 0, 0, 0])
            assert pads[:2] == pads[2:], "symmetric padding only"
            out = F.conv2d(x[0], x[1], x[2] if len(x) > 2 else None, a.get("strides", 1),
                           tuple(pads[:2]), a.get("dilations", 1), a.get("group", 1))
        elif op == "ConvTranspose":
            pads = a.get("pads", [0, 0, 0, 0])
            out = F.conv_transpose2d(x[0], x[1], x[2] if len(x) > 2 else None,
                                     a.get("strides", 1), tuple(pads[:2]),
                                     tuple(a.get("output_padding", [0, 0])), a.get("group", 1),
                                     a.get("dilations", 1))
        elif op == "Gemm":
            left = x[0].T if a.get("transA", 0) else x[0]
            right = x[1].T if a.get("transB", 0) else x[1]
            out = a.get("alpha", 1.0) * (left @ right)
            if len(x) > 2 and x[2] is not None:
                out = out + a.get("beta", 1.0) * x[2]
        elif op == "BatchNormalization":
            eps = epsilon_of(node)
            if a.get("training_mode", 0):
                out = F.batch_norm(x[0], None, None, x[1], x[2], True, 0.0, eps)
            else:
                out = F.batch_norm(x[0], x[3], x[4], x[1], x[2], False, 0.0, eps)
        elif op == "Relu":
            out = F.relu(x[0])
        elif op == "Sigmoid":
            out = torch.sigmoid(x[0])
        elif op == "MaxPool":
            out = F.max_pool2d(x[0], a["kernel_shape"], a.get("strides", 1))
        elif op == "If":
            branch = a["then_branch"] if bool(x[0]) else a["else_branch"]
            inner = dict(env)
            run_graph(branch, inner, compute)
            out = inner[branch.output[0].name]
        else:
            raise NotImplementedError(op)
        env[node.output[0]] = out


def evaluate(model, feeds, compute):
    """The graph's outputs for `feeds`, computed in `compute` (a torch dtype)."""
    env = {name: torch.from_numpy(np.array(value)).to(compute)
           for name, value in constants(model.graph).items()}
    env.update({name: torch.from_numpy(value).to(compute) for name, value in feeds.items()})
    run_graph(model.graph, env, compute)
    return [env[o.name].numpy() for o in model.graph.output]


def random_feeds(model, seed):
    rng = np.random.default_rng(seed)
    initializers = {t.name for t in model.graph.initializer}
    feeds = {}
    for value in model.graph.input:
        if value.name in initializers:
            continue
        shape = [d.dim_value for d in value.type.tensor_type.shape.dim]
        if value.name == "mean_in":
            feeds[value.name] = rng.normal(size=shape)
        else:
            feeds[value.name] = rng.normal(size=shape) * 0.5 if "w" in value.name else \
                rng.normal(size=shape)
    return feeds


def compute_type(model):
    types = {t.data_type for t in model.graph.initializer}
    return torch.float64 if onnx.TensorProto.DOUBLE in types else torch.float32


def weight_type(model):
    types = {t.data_type for t in model.graph.initializer}
    if onnx.TensorProto.FLOAT16 in types:
        return np.float16
    return np.float64 if onnx.TensorProto.DOUBLE in types else np.float32


def expected_folds(model, expected):
    """For each layer folded into: its weight and bias by the float64 formula, rounded once,
    with the BNs folded into it in graph order (Conv→BN→BN: w·s1·s2)."""
    graph = model.graph
    values = constants(graph)
    layers = {(n.name or n.output[0]): n for n in graph.node}
    bns = {n.name or n.output[0]: n for n in graph.node if n.op_type == "BatchNormalization"}
    result = {}
    for bn_name, (into, op, _) in expected["folded"].items():
        layer = layers[into]
        bn = bns[bn_name]
        w = values[layer.input[1]]
        dtype = w.dtype
        a = attributes(layer)
        if into not in result:
            weight = w.astype(np.float64)
            if len(layer.input) > 2 and layer.input[2]:
                c = values[layer.input[2]].astype(np.float64)
                bias = a.get("beta", 1.0) * np.broadcast_to(c.reshape(-1), (channels_of(layer, w),))
                # A row (1, N) stays one; any other C becomes one value per channel.
                bias_shape = c.shape if c.shape == (1, channels_of(layer, w)) \
                    else (channels_of(layer, w),)
            else:
                bias = np.zeros(channels_of(layer, w))
                bias_shape = bias.shape
            result[into] = [weight, bias.astype(np.float64), dtype, bias_shape]
        weight, bias, dtype, bias_shape = result[into]
        gamma, beta, mean, var = (values[n].astype(np.float64) for n in bn.input[1:5])
        s = gamma / np.sqrt(var + epsilon_of(bn))
        result[into][0] = weight * channel_view(layer, weight, s)
        result[into][1] = (bias - mean) * s + beta
    return {into: (w.astype(dtype), b.astype(dtype).reshape(shape))
            for into, (w, b, dtype, shape) in result.items()}


def channels_of(layer, w):
    if layer.op_type == "Conv":
        return w.shape[0]
    if layer.op_type == "ConvTranspose":
        return attributes(layer).get("group", 1) * w.shape[1]
    return w.shape[0] if attributes(layer).get("transB", 0) else w.shape[1]


def channel_view(layer, w, s):
    """`s` (one per output channel) shaped to multiply `w` element by element."""
    if layer.op_type == "Conv":
        return s.reshape((-1,) + (1,) * (w.ndim - 1))
    if layer.op_type == "ConvTranspose":
        group = attributes(layer).get("group", 1)
        c, m_per_group = w.shape[:2]
        # W[c, j] feeds output channel (c // (C/group))·(M/group) + j.
        index = (np.arange(c) // (c // group))[:, None] * m_per_group + np.arange(m_per_group)
        return s[index].reshape((c, m_per_group) + (1,) * (w.ndim - 2))
    if attributes(layer).get("transB", 0):
        return s[:, None]
    return s[None, :]


def bfloat16_bits(value):
    """The bits of the bfloat16 nearest to `value` (a float64), ties to even."""
    value = float(value)
    base = int(np.float32(value).view(np.uint32)) & 0xFFFF0000
    candidates = [c for c in (base - 0x10000, base, base + 0x10000)
                  if 0 <= c <= 0xFFFF0000 and (c ^ base) >> 31 == 0]
    as_double = lambda c: float(np.uint32(c).view(np.float32))
    best = min(candidates, key=lambda c: (abs(as_double(c) - value), (c >> 16) & 1))
    return best >> 16


def bn_names(model):
    return [n.name or n.output[0] for n in model.graph.node if n.op_type == "BatchNormalization"]


class OnnxFold(ScratchTestCase):
    def build(self, name, builder=None):
        model, expected = (builder or onnx_models.MODELS[name])()
        folder = self.dir / name
        folder.mkdir()
        path = folder / "model.onnx"
        onnx_models.save(model, path, expected.get("external", False))
        return path, onnx.load(str(path)), expected

    def check_model(self, name, builder=None):
        path, original, expected = self.build(name, builder)
        out = path.parent / "folded.onnx"
        result = run(["fold", str(path), "-o", str(out), "--format", "json"], cwd=self.dir)
        self.assertEqual(result.status, 0, result)
        report = json.loads(result.stdout)
        folded = onnx.load(str(out))
        onnx.checker.check_model(folded)

        # The report: every BN, each where it belongs, with its reason.
        self.assertEqual(report["model"], str(path))
        self.assertEqual({f["batch_norm"]: (f["into"], f["op"], f["bias_created"])
                          for f in report["folded"]}, expected["folded"])
        self.assertEqual({u["batch_norm"]: u["reason_code"] for u in report["not_folded"]},
                         expected["not_folded"])
        self.assertEqual(report["folded_count"], len(expected["folded"]))
        self.assertEqual(report["not_folded_count"], len(expected["not_folded"]))
        for u in report["not_folded"]:
            self.assertTrue(u["reason"] and "\n" not in u["reason"], u)
        self.assertEqual(sorted(bn_names(original)),
                         sorted(list(expected["folded"]) + list(expected["not_folded"])))
        # No BN that was to fold is left; those left are the ones refused.
        self.assertEqual(sorted(bn_names(folded)), sorted(expected["not_folded"]))

        # The weights and biases, bit for bit.
        after = constants(folded.graph)
        layers = {(n.name or n.output[0]): n for n in folded.graph.node}
        for into, (weight, bias) in expected_folds(original, expected).items():
            # An unnamed layer is known by its output, which is now its last BN's.
            last = [bn for bn, (i, _, _) in expected["folded"].items() if i == into][-1]
            y = next(n.output[0] for n in original.graph.node if (n.name or n.output[0]) == last)
            layer = layers.get(into) or next(n for n in folded.graph.node if n.output[0] == y)
            got_w, got_b = after[layer.input[1]], after[layer.input[2]]
            self.assertEqual(got_w.dtype, weight.dtype, into)
            self.assertEqual(got_w.shape, weight.shape, into)
            self.assertEqual(got_w.tobytes(), weight.tobytes(), into)
            self.assertEqual(got_b.dtype, bias.dtype, into)
            self.assertEqual(got_b.shape, bias.shape, into)
            self.assertEqual(got_b.tobytes(), bias.tobytes(), into)
            if layer.op_type == "Gemm":
                self.assertEqual(attributes(layer).get("beta", 1.0), 1.0)
                original_alpha = attributes(
                    next(n for n in original.graph.node if n.name == layer.name)).get("alpha", 1.0)
                self.assertEqual(attributes(layer).get("alpha", 1.0), original_alpha)

        # The same outputs for the same inputs.
        compute = compute_type(original)
        tolerance = TOLERANCE[weight_type(original)]
        for seed in range(3 if LARGE else 1):
            feeds = random_feeds(original, seed)
            for before, now in zip(evaluate(original, feeds, compute),
                                   evaluate(folded, feeds, compute)):
                scale = max(1.0, float(np.nanmax(np.abs(before[np.isfinite(before)]),
                                                 initial=0.0)))
                np.testing.assert_allclose(now, before, rtol=0, atol=tolerance * scale,
                                           equal_nan=True, err_msg=name)

        self.check_untouched(original, folded, expected)

        # Folding again folds nothing, and writes the same bytes.
        again = path.parent / "again.onnx"
        result = run(["fold", str(out), "-o", str(again), "--format", "json"], cwd=self.dir)
        self.assertEqual(result.status, 0, result)
        report = json.loads(result.stdout)
        self.assertEqual(report["folded"], [])
        self.assertEqual({u["batch_norm"]: u["reason_code"] for u in report["not_folded"]},
                         expected["not_folded"])
        self.assertEqual(again.read_bytes(), out.read_bytes())
        return original, folded, report

    def check_untouched(self, original, folded, expected):
        """Everything but the folded nodes, their BNs and the constants only those used."""
        self.assertEqual(folded.ir_version, original.ir_version)
        self.assertEqual(list(folded.opset_import), list(original.opset_import))
        self.assertEqual(folded.producer_name, original.producer_name)
        self.assertEqual(folded.producer_version, original.producer_version)
        self.assertEqual(folded.doc_string, original.doc_string)
        self.assertEqual(list(folded.metadata_props), list(original.metadata_props))
        self.assertEqual(folded.graph.name, original.graph.name)
        self.assertEqual(list(folded.graph.output), list(original.graph.output))
        layers_folded = {into for into, _, _ in expected["folded"].values()}
        bns_folded = set(expected["folded"])
        changed_names, removed = set(), set()
        for node in original.graph.node:
            label = node.name or node.output[0]
            if label in layers_folded:
                changed_names.update(node.input[1:])
            if label in bns_folded:
                removed.update(node.input[1:])
        # Nodes: the folded BNs gone, the layers they went into changed, every other the same
        # and in the same order, save Constant nodes only the folded BNs used.
        kept = [n for n in original.graph.node
                if (n.name or n.output[0]) not in bns_folded | layers_folded]
        now = [n for n in folded.graph.node if (n.name or n.output[0]) not in layers_folded
               and not (n.op_type in FOLDABLE and not n.name)]
        kept = [n for n in kept if not (n.op_type in FOLDABLE and not n.name
                                        and n.output[0] in layers_folded)]
        still_used = {i for n in folded.graph.node for i in n.input} | \
            {o.name for o in folded.graph.output}
        kept = [n for n in kept
                if not (n.op_type == "Constant" and n.output[0] in removed
                        and n.output[0] not in still_used)
                and not (n.op_type == "Constant" and n.output[0] in changed_names)]
        now = [n for n in now if not (n.op_type == "Constant" and n.output[0] in changed_names)]
        self.assertEqual([n.SerializeToString() for n in now],
                         [n.SerializeToString() for n in kept])
        # Initializers: those untouched by the fold are the same tensors, in the same order.
        before = [t for t in original.graph.initializer
                  if t.name not in changed_names and not (t.name in removed
                                                          and t.name not in still_used)]
        after = [t for t in folded.graph.initializer if t.name not in changed_names
                 and t.name in {b.name for b in original.graph.initializer}]
        self.assertEqual([t.SerializeToString() for t in after],
                         [t.SerializeToString() for t in before])
        for t in original.graph.initializer:
            if t.name in removed and t.name not in still_used:
                self.assertNotIn(t.name, {a.name for a in folded.graph.initializer})
        # Graph inputs: the same, save (before IR version 4) the initializers' own.
        initializer_names = {t.name for t in original.graph.initializer} | \
            {t.name for t in folded.graph.initializer}
        self.assertEqual([i for i in folded.graph.input if i.name not in initializer_names],
                         [i for i in original.graph.input if i.name not in initializer_names])
        if original.ir_version < 4:
            self.assertEqual(sorted(i.name for i in folded.graph.input if i.name in
                                    initializer_names),
                             sorted(t.name for t in folded.graph.initializer))

    def test_every_model(self):
        for name in onnx_models.MODELS:
            with self.subTest(model=name):
                self.check_model(name)

    def test_gemm_grid(self):
        """Gemm+BN over transA, transB, alpha, beta (0 too) and every shape of C: the ones of
        one value per channel fold, the others stay (shape_mismatch).  CI runs every 7th case;
        BNORM_LARGE_GRID=1 all 1024."""
        grid = list(itertools.product([(3, 5, 4), (1, 3, 4), (3, 4, 1), (1, 1, 1)], [0, 1],
                                      [0, 1], [1.0, 0.5], [1.0, 0.25, 0.0, 2.0],
                                      [None, (), (1,), "N", "1N", "MN", "M1", (1, 1)]))
        for i, case in enumerate(grid if LARGE else grid[::7]):
            mkn, trans_a, trans_b, alpha, beta, c = case
            m, _, n = mkn
            c_shape = {"N": (n,), "1N": (1, n), "MN": (m, n), "M1": (m, 1)}.get(c, c)
            with self.subTest(case=case):
                self.check_model(f"gemm_{i}", lambda: onnx_models.gemm_case(
                    100 + i, mkn, trans_a, trans_b, alpha, beta, c_shape))

    def test_a_deep_model(self):
        count = 200 if LARGE else 12
        self.check_model("many_layers", lambda: onnx_models.many_layers(count))

    def test_a_created_bias_has_a_name_of_its_own(self):
        original, folded, _ = self.check_model("conv_without_bias")
        conv = folded.graph.node[0]
        self.assertEqual(conv.input[2], "conv1.bias")
        # A name taken already is not taken again.
        def taken():
            model, expected = onnx_models.MODELS["conv_without_bias"]()
            model.graph.initializer.append(numpy_helper.from_array(np.zeros(1, np.float32),
                                                                   "conv1.bias"))
            return model, expected
        _, folded, _ = self.check_model("conv_without_bias_taken", taken)
        self.assertEqual(folded.graph.node[0].input[2], "conv1.bias_2")

    def test_value_info_of_the_vanished_output_goes(self):
        original, folded, _ = self.check_model("conv_bn_bn")
        self.assertEqual([v.name for v in original.graph.value_info], ["bn1_out", "conv1_out"])
        self.assertEqual([v.name for v in folded.graph.value_info], [])
        self.assertEqual(folded.graph.node[0].output[0], "bn2_out")

    def test_text_report(self):
        path, _, _ = self.build("refusals")
        result = run(["fold", str(path)], cwd=self.dir)
        self.assertEqual(result.status, 0, result)
        lines = result.stdout.decode().splitlines()
        self.assertEqual(lines[0], "folded bn_ok into conv_ok (Conv)")
        self.assertEqual(lines[-1], "1 of 9 batch normalizations folded; 4 initializers and "
                                    "0 Constant nodes removed")
        reasons = {line.split(":")[0][len("not folded "):]: line for line in lines[1:-1]}
        self.assertEqual(sorted(reasons), sorted(onnx_models.refusals()[1]["not_folded"]))
        self.assertIn("graph input", reasons["bn_input"])
        self.assertIn("'pool' (MaxPool)", reasons["bn_pool"])
        self.assertIn("'w_in'", reasons["bn_weight_input"])
        self.assertIn("'shared.weight'", reasons["bn_shared1"])
        self.assertIn("'mean_in'", reasons["bn_mean_input"])
        self.assertIn("training mode", reasons["bn_training"])
        self.assertIn("channel 2", reasons["bn_not_finite"])
        # Nothing was written without -o.
        self.assertEqual(sorted(p.name for p in path.parent.iterdir()), ["model.onnx"])
        path, _, _ = self.build("bn_after_relu")
        self.assertEqual(run(["fold", str(path)], cwd=self.dir).stdout.decode().splitlines()[0],
                         "not folded bn1: it follows an activation, node 'relu1' (Relu), which "
                         "it does not commute with")
        path, _, _ = self.build("conv_without_bias")
        self.assertEqual(run(["fold", str(path)], cwd=self.dir).stdout.decode().splitlines()[0],
                         "folded bn1 into conv1 (Conv), its bias created")

    def test_standard_input_and_output(self):
        path, _, _ = self.build("conv_bn")
        out = path.parent / "folded.onnx"
        self.assertEqual(run(["fold", str(path), "-o", str(out)], cwd=self.dir).status, 0)
        # The model on standard output, the report on standard error.
        result = run(["fold", "-", "-o", "-"], cwd=self.dir, stdin=path.read_bytes())
        self.assertEqual(result.status, 0, result)
        self.assertEqual(result.stdout, out.read_bytes())
        self.assertEqual(result.stderr.splitlines()[0], "folded bn1 into conv1 (Conv)")
        # Told by its bytes, with no name: the report on standard output.
        result = run(["fold", "-", "--format", "json"], cwd=self.dir, stdin=path.read_bytes())
        self.assertEqual(result.status, 0, result)
        self.assertEqual(json.loads(result.stdout)["folded_count"], 1)
        self.assertEqual(result.stderr, "")

    def test_a_model_is_written_in_its_own_format_whatever_the_name(self):
        """-o's name tells nothing a model needs: folded.bin, folded and folded.onnx get the
        same bytes; only another format's name (or --output-format) is refused."""
        path, _, _ = self.build("conv_bn")
        want = path.parent / "folded.onnx"
        self.assertEqual(run(["fold", str(path), "-o", str(want)], cwd=self.dir).status, 0)
        for name in ("folded.bin", "folded", "folded.ONNX.tmp"):
            for source, stdin in ((str(path), None), ("-", path.read_bytes())):
                with self.subTest(name=name, source=source):
                    out = self.dir / name
                    result = run(["fold", source, "-o", name], cwd=self.dir, stdin=stdin)
                    self.assertEqual(result.status, 0, result)
                    self.assertEqual(out.read_bytes(), want.read_bytes())
                    out.unlink()
        self.assertFailsWith(run(["fold", str(path), "-o", "folded.bin", "--output-format", "npy"],
                                 cwd=self.dir), 2, "folded.bin", ".npy")
        # --output-format onnx is taken, and --help says so.
        self.assertEqual(run(["fold", str(path), "-o", "folded.bin", "--output-format", "onnx"],
                             cwd=self.dir).status, 0)
        self.assertEqual((self.dir / "folded.bin").read_bytes(), want.read_bytes())
        help_text = run(["fold", "--help"]).stdout.decode()
        self.assertIn("--output-format npy|json|pt|npz|safetensors|onnx", help_text)

    def test_weight_flags_are_refused_for_a_model(self):
        path, _, _ = self.build("conv_bn")
        (self.dir / "state.json").write_text('{"running_mean": [0], "running_var": [1]}')
        for flags, named in [(["--bias-out", "b.npy"], "--bias-out"),
                             (["--state", "state.json"], "--state"),
                             (["--bias", "state.json"], "--bias"),
                             (["--tensor", "w"], "--tensor"),
                             (["--eps", "0.1"], "--eps"),
                             (["--axis", "1"], "--axis"),
                             (["--convention", "keras"], "--convention"),
                             (["--state-prefix", "p"], "--state-prefix")]:
            with self.subTest(flags=flags):
                for source, stdin in ((str(path), None), ("-", path.read_bytes())):
                    result = run(["fold", source, "-o", "out.onnx", *flags], cwd=self.dir,
                                 stdin=stdin)
                    self.assertFailsWith(result, 2, named, "model")
        self.assertFailsWith(run(["fold", str(path), "--format", "xml"], cwd=self.dir), 2,
                             "--format")
        self.assertFailsWith(run(["fold", str(path), "-o", "x.npy"], cwd=self.dir), 2, "x.npy")
        self.assertNoStrayFiles("conv_bn", "state.json")

    def test_an_invalid_model_is_exit_3(self):
        path, original, _ = self.build("conv_bn")
        data = path.read_bytes()
        for broken in (data[: len(data) // 2], b"\x08\x07\x12\xff\xff\xff\xff\x0f"):
            path.write_bytes(broken)
            result = run(["fold", str(path), "-o", "out.onnx"], cwd=self.dir)
            self.assertEqual(result.status, 3, result)
        self.assertFalse((self.dir / "out.onnx").exists())

    def test_external_data(self):
        # Folded in its own folder: the folded tensors inline, the others still outside.
        original, folded, _ = self.check_model("external_data")
        folder = self.dir / "external_data"
        model = onnx.load(str(folder / "folded.onnx"), load_external_data=False)
        outside = {t.name for t in model.graph.initializer
                   if t.data_location == onnx.TensorProto.EXTERNAL}
        self.assertEqual(outside, {"conv2.weight", "conv2.bias", "bn2.scale", "bn2.B",
                                   "bn2.mean", "bn2.var"})
        inline = {t.name for t in model.graph.initializer if t.name not in outside}
        self.assertEqual(inline, {"conv1.weight", "conv1.bias"})
        # Anywhere else, its side file would not be found: refused, and nothing written.
        (self.dir / "elsewhere").mkdir()
        for target in ("elsewhere/folded.onnx", "-", "folded.onnx"):
            with self.subTest(target=target):
                result = run(["fold", str(folder / "model.onnx"), "-o", target], cwd=self.dir)
                self.assertFailsWith(result, 2, "weights.bin", "folder")
        self.assertEqual(list((self.dir / "elsewhere").iterdir()), [])
        self.assertFalse((self.dir / "folded.onnx").exists())
        # The report alone needs no output folder.
        result = run(["fold", str(folder / "model.onnx")], cwd=self.dir)
        self.assertEqual(result.status, 0, result)

    def test_in_place(self):
        path, original, _ = self.build("conv_bn")
        folded = path.parent / "folded.onnx"
        self.assertEqual(run(["fold", str(path), "-o", str(folded)], cwd=self.dir).status, 0)
        result = run(["fold", str(path), "-o", str(path)], cwd=self.dir)
        self.assertEqual(result.status, 0, result)
        self.assertEqual(path.read_bytes(), folded.read_bytes())

    def test_float32_arithmetic_against_double_rounded_once(self):
        """What onnxoptimizer's fuse_bn_into_conv computes (every step in float32) against the
        fold in double rounded once, on a deep model: each of bnorm's values is the float32
        nearest the exact one, so never farther from it than the float32 steps' value; and the
        two folded graphs' outputs against the original's, all run in float64."""
        path, original, expected = self.build(
            "many_layers", lambda: onnx_models.many_layers(12, scale=math.sqrt(2 / (9 * 8))))
        out = path.parent / "folded.onnx"
        self.assertEqual(run(["fold", str(path), "-o", str(out)], cwd=self.dir).status, 0)
        folded = onnx.load(str(out))
        float32_steps = onnx.load(str(out))
        values, after = constants(original.graph), constants(folded.graph)
        replaced = {t.name: t for t in float32_steps.graph.initializer}
        layers = {n.name: n for n in folded.graph.node}
        worst_w = worst_b = 0.0
        differ = total = 0
        for node in original.graph.node:
            if node.op_type != "BatchNormalization":
                continue
            conv = next(n for n in original.graph.node if n.output[0] == node.input[0])
            gamma, beta, mean, var = (values[n] for n in node.input[1:5])
            eps = np.float32(epsilon_of(node))
            s32 = gamma / np.sqrt(var + eps)
            w32 = values[conv.input[1]] * s32[:, None, None, None]
            b32 = (values[conv.input[2]] - mean) * s32 + beta
            s64 = gamma.astype(np.float64) / np.sqrt(var.astype(np.float64) + float(eps))
            exact_w = values[conv.input[1]].astype(np.float64) * s64[:, None, None, None]
            exact_b = (values[conv.input[2]].astype(np.float64) - mean) * s64 + beta
            names = layers[conv.name].input[1:3]
            ours_w, ours_b = after[names[0]], after[names[1]]
            self.assertTrue(np.all(np.abs(ours_w - exact_w) <= np.abs(w32 - exact_w)))
            self.assertTrue(np.all(np.abs(ours_b - exact_b) <= np.abs(b32 - exact_b)))
            worst_w = max(worst_w, float(np.max(np.abs(w32.astype(np.float64) - ours_w))))
            worst_b = max(worst_b, float(np.max(np.abs(b32.astype(np.float64) - ours_b))))
            differ += int(np.sum(w32 != ours_w)) + int(np.sum(b32 != ours_b))
            total += w32.size + b32.size
            for name, array in zip(names, (w32, b32)):
                replaced[name].CopyFrom(numpy_helper.from_array(array, name))
        self.assertGreater(differ, 0)
        feeds = random_feeds(original, 0)
        [exact] = evaluate(original, feeds, torch.float64)
        [ours] = evaluate(folded, feeds, torch.float64)
        [steps] = evaluate(float32_steps, feeds, torch.float64)
        print(f"\nfloat32 steps vs double rounded once: max |dW| {worst_w:.3g}, "
              f"max |db| {worst_b:.3g}, {differ} of {total} values differ; outputs' max abs "
              f"error against the unfolded graph in float64, over its largest "
              f"{np.max(np.abs(exact)):.3g}: float32 steps {np.max(np.abs(steps - exact)):.3g}, "
              f"bnorm {np.max(np.abs(ours - exact)):.3g}", file=sys.stderr)

    def test_a_layer_of_more_outputs_than_its_op_has_is_not_folded(self):
        """A (malformed) Conv of two outputs whose second feeds the BN: folding would rename
        its first output, which another node reads; it stays, and the model is written as read."""
        model, _ = onnx_models.conv_bn()
        conv = model.graph.node[0]
        conv.output[:] = ["conv1_first", "conv1_out"]
        model.graph.node.append(onnx.helper.make_node("Relu", ["conv1_first"], ["r"], name="r"))
        path = self.dir / "two_outputs.onnx"
        onnx_models.save(model, path)
        out = self.dir / "folded.onnx"
        result = run(["fold", str(path), "-o", str(out), "--format", "json"], cwd=self.dir)
        self.assertEqual(result.status, 0, result)
        [refused] = json.loads(result.stdout)["not_folded"]
        self.assertEqual(refused["reason_code"], "unsupported_op")
        self.assertIn("'conv1_out'", refused["reason"])
        self.assertEqual(onnx.load(str(out)).graph.node, model.graph.node)

    def test_a_weight_of_another_type_is_not_folded(self):
        def int_weight():
            model, _ = onnx_models.conv_bn()
            tensor = next(t for t in model.graph.initializer if t.name == "conv1.weight")
            tensor.CopyFrom(numpy_helper.from_array(np.ones((4, 3, 3, 3), np.int64), tensor.name))
            return model, {"folded": {}, "not_folded": {"bn1": "unsupported_type"}}
        path, _, _ = self.build("int_weight", int_weight)
        result = run(["fold", str(path), "--format", "json"], cwd=self.dir)
        self.assertEqual(result.status, 0, result)
        [refused] = json.loads(result.stdout)["not_folded"]
        self.assertEqual(refused["reason_code"], "unsupported_type")
        self.assertIn("int64", refused["reason"])

    def test_bfloat16(self):
        """bfloat16 weights (raw bits, which NumPy has no type for): each folded value the
        nearest bfloat16 to the float64 formula, ties to even."""
        model, _ = onnx_models.conv_without_bias()
        for tensor in model.graph.initializer:
            values = numpy_helper.to_array(tensor).astype(np.float64)
            bits = np.array([bfloat16_bits(v) for v in values.ravel()], np.uint16)
            tensor.CopyFrom(onnx.helper.make_tensor(tensor.name, onnx.TensorProto.BFLOAT16,
                                                    values.shape, bits.tobytes(), raw=True))
        path = self.dir / "bf16.onnx"
        onnx_models.save(model, path)
        out = self.dir / "folded.onnx"
        self.assertEqual(run(["fold", str(path), "-o", str(out)], cwd=self.dir).status, 0)
        folded = onnx.load(str(out))
        onnx.checker.check_model(folded)
        values = constants(model.graph)  # bfloat16 read as float32, exactly
        gamma, beta, mean, var = (values["bn1." + n].astype(np.float64)
                                  for n in ("scale", "B", "mean", "var"))
        s = gamma / np.sqrt(var + epsilon_of(model.graph.node[1]))
        weight = values["conv1.weight"].astype(np.float64) * s[:, None, None, None]
        bias = (0.0 - mean) * s + beta
        tensors = {t.name: t for t in folded.graph.initializer}
        self.assertEqual(tensors["conv1.weight"].data_type, onnx.TensorProto.BFLOAT16)
        self.assertEqual(np.frombuffer(tensors["conv1.weight"].raw_data, np.uint16).tolist(),
                         [bfloat16_bits(v) for v in weight.ravel()])
        self.assertEqual(np.frombuffer(tensors["conv1.bias"].raw_data, np.uint16).tolist(),
                         [bfloat16_bits(v) for v in bias])

    def test_a_fold_out_of_float16_range_is_refused(self):
        def too_large():
            model, _ = onnx_models.float16()
            for tensor in model.graph.initializer:
                if tensor.name == "bn1.scale":
                    tensor.CopyFrom(numpy_helper.from_array(np.full(4, 3e4, np.float16),
                                                            tensor.name))
            return model, {"folded": {"bn2": onnx_models.folded("conv2", bias_created=True)},
                           "not_folded": {"bn1": "not_finite"}}
        _, _, report = self.check_model("float16_too_large", too_large)
        path = self.dir / "float16_too_large" / "model.onnx"
        [refused] = json.loads(run(["fold", str(path), "--format", "json"],
                                   cwd=self.dir).stdout)["not_folded"]
        self.assertIn("is not finite as float16", refused["reason"])

    def test_unknown_fields_are_kept(self):
        """A field of a newer schema, which this one does not know, is written back as read."""
        path, _, _ = self.build("conv_bn")
        unknown = b"\xa2\x06\x05later"  # field 100, length-delimited: "later"
        path.write_bytes(path.read_bytes() + unknown)
        out = self.dir / "folded.onnx"
        self.assertEqual(run(["fold", str(path), "-o", str(out)], cwd=self.dir).status, 0)
        self.assertIn(unknown, out.read_bytes())

    def test_the_sample_is_the_builders(self):
        sys.path.insert(0, str(SOURCE_DIR / "tests" / "golden"))
        import make_onnx_samples
        written = make_onnx_samples.write_sample(self.dir / "conv_bn.onnx")
        self.assertEqual(written.read_bytes(), (SAMPLES / "conv_bn.onnx").read_bytes())

    def test_fold_time_grows_with_the_model_not_its_square(self):
        """Each constant is looked up by name, not found by a scan of the graph: four times the
        layers take about four times as long (a scan per lookup took 24 times as long)."""
        elapsed = {}
        for count in (1000, 4000):
            path, _, _ = self.build(f"many_layers_{count}", lambda: onnx_models.many_layers(
                count, channels=4, spatial=2))
            best = math.inf
            for _ in range(2):
                start = time.perf_counter()
                result = run(["fold", str(path), "-o", str(path.parent / "folded.onnx")],
                             cwd=self.dir)
                best = min(best, time.perf_counter() - start)
                self.assertEqual(result.status, 0, result)
            elapsed[count] = best
        self.assertLess(elapsed[4000], 10 * elapsed[1000], elapsed)

    def test_a_layer_no_later_batch_norm_folds_into_is_written_at_once(self):
        """Conv→BN→BN keeps the Conv's values in double until the second BN is seen; when that
        one stays (its input is also a graph output), the layer is written then, not kept to
        the end beside every other: the peak memory is that of the chains that all fold."""
        peak = {}
        for refused in (False, True):
            path, _, expected = self.build(f"chains_{refused}", lambda: onnx_models.chains(
                10, 256, refused))
            out = path.parent / "folded.onnx"
            # Started from a small process, whose size its child's peak begins at.
            result = subprocess.run([sys.executable, "-c", PEAK_MEMORY, BNORM, "fold", str(path),
                                     "-o", str(out)], capture_output=True, check=True)
            kib, status = map(int, result.stdout.split())
            self.assertEqual(status, 0)
            self.assertEqual(len(onnx.load(str(out)).graph.node),
                             10 + len(expected["not_folded"]))
            peak[refused] = kib
        # Ten layers of 2.25 MiB float32 weights, 4.5 MiB each in double: kept to the end, they
        # would add 45 MiB.
        self.assertLess(peak[True], peak[False] + 15 * 1024, peak)

    def test_fold_time_of_a_deep_model(self):
        count = 500 if LARGE else 100
        path, _, _ = self.build("many_layers",
                                lambda: onnx_models.many_layers(count, channels=32))
        start = time.perf_counter()
        result = run(["fold", str(path), "-o", str(path.parent / "folded.onnx")], cwd=self.dir)
        elapsed = time.perf_counter() - start
        self.assertEqual(result.status, 0, result)
        self.assertIn(f"{count} of {count} batch normalizations folded",
                      result.stdout.decode())
        print(f"\nfolding {count} Conv+BN pairs ({path.stat().st_size} bytes): "
              f"{elapsed * 1000:.0f} ms", file=sys.stderr)


if __name__ == "__main__":
    unittest.main()
