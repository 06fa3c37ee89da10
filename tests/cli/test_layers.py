#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""`bnorm layers` against torch and NumPy: a net of BatchNorm1d, 2d and 3d layers is trained a
few steps by torch, channels are planted dead (running_var 0), broken (NaN, Inf), invalid
(negative) and prunable (|gamma| small), and its state_dict is saved as .npz by NumPy and as
.safetensors by hand (float32, float16, bfloat16).  Every number bnorm reports is computed here
from the arrays: channel counts, dtypes, num_batches_tracked, min/max/mean/median of each
state tensor's finite values, and the flags per layer and in all.  The --plot picture is
rendered by headless Chromium and its rows and marks are found where they belong."""
import csv
import io
import json
import math
import os
import shutil
import subprocess
import unittest
import xml.etree.ElementTree as ET

import numpy as np
import torch

from cli_support import ScratchTestCase, write_safetensors
from test_inspect import laid_out_texts, overlaps, png_pixels

LARGE = os.environ.get("BNORM_LARGE_GRID") == "1"
ROLES = ["running_mean", "running_var", "weight", "bias"]
SAFETENSORS_DTYPES = {np.dtype(np.float32): "F32", np.dtype(np.float16): "F16",
                      np.dtype(np.float64): "F64", np.dtype(np.int64): "I64"}


def is_utf8(data):
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(6, 5)
        self.bn1 = torch.nn.BatchNorm1d(5)
        self.conv = torch.nn.Conv2d(2, 4, 3, padding=1)
        self.bn2 = torch.nn.BatchNorm2d(4)
        self.conv3 = torch.nn.Conv3d(1, 3, 1)
        self.block = torch.nn.Sequential(torch.nn.BatchNorm3d(3))

    def forward(self, a, b, c):
        return (self.bn1(self.fc(a)).square().mean() + self.bn2(self.conv(b)).square().mean()
                + self.block(self.conv3(c)).abs().mean())


def trained_state(steps=4):
    torch.manual_seed(13)
    net = Net()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = net(torch.randn(8, 6) * 3 + 1, torch.randn(4, 2, 5, 5), torch.randn(2, 1, 3, 4, 4))
        loss.backward()
        optimizer.step()
    return {k: v.detach().numpy().copy() for k, v in net.state_dict().items()}


def planted_state():
    state = trained_state()
    state["bn1.running_var"][1] = 0.0
    state["bn1.running_var"][3] = np.inf
    state["bn1.weight"][0] = 1e-3
    state["bn1.weight"][4] = -5e-3
    state["bn2.running_var"][2] = np.nan
    state["bn2.running_var"][0] = -0.25
    state["block.0.running_var"][0] = 0.0
    state["block.0.weight"][1] = 0.0
    state["block.0.bias"][2] = np.nan
    return state


LAYERS = {"bn1.": 5, "bn2.": 4, "block.0.": 3}


def summary(values):
    v = np.asarray(values, np.float64)
    finite = v[np.isfinite(v)]
    return {"min": finite.min(), "max": finite.max(), "mean": finite.mean(),
            "median": np.median(finite), "nonfinite": int((~np.isfinite(v)).sum())}


def flags(state, prefix, threshold):
    var = np.asarray(state[prefix + "running_var"], np.float64)
    weight = np.asarray(state[prefix + "weight"], np.float64)
    return {"var_zero": int((var == 0).sum()), "var_nan": int(np.isnan(var).sum()),
            "var_inf": int(np.isinf(var).sum()),
            "var_negative": int(((var < 0) & np.isfinite(var)).sum()),
            "gamma_small": int((np.abs(weight) < threshold).sum())}


def save_safetensors(path, state, cast=None):
    tensors = []
    for name, array in state.items():
        if cast is not None and array.dtype.kind == "f":
            if cast == "BF16":
                raw = torch.from_numpy(array).to(torch.bfloat16).view(torch.int16).numpy()
                tensors.append((name, "BF16", array.shape, raw.tobytes()))
                continue
            array = array.astype(cast)
        tensors.append((name, SAFETENSORS_DTYPES[array.dtype], array.shape, array.tobytes()))
    write_safetensors(path, tensors)


def as_read(state, cast):
    """The arrays as the file holds them, as float64 (bfloat16 rounded by torch)."""
    out = {}
    for name, array in state.items():
        if array.dtype.kind != "f" or cast is None:
            out[name] = array
        elif cast == "BF16":
            out[name] = torch.from_numpy(array).to(torch.bfloat16).to(torch.float64).numpy()
        else:
            out[name] = array.astype(cast)
    return out


class Layers(ScratchTestCase):
    def setUp(self):
        super().setUp()
        self.state = planted_state()

    def report(self, model, *flags_):
        result = self.bnorm("layers", model, "--format", "json", *flags_)
        self.assertEqual(result.status, 0, result)
        return json.loads(result.stdout)

    def check(self, got, state, dtype, threshold=1e-2):
        self.assertEqual([l["prefix"] for l in got["layers"]], list(LAYERS))
        self.assertEqual(got["gamma_threshold"], threshold)
        totals = dict.fromkeys(["var_zero", "var_nan", "var_inf", "var_negative", "gamma_small"], 0)
        for layer in got["layers"]:
            prefix = layer["prefix"]
            with self.subTest(layer=prefix, dtype=dtype):
                self.assertEqual(layer["channels"], LAYERS[prefix])
                self.assertEqual(layer["channels"], state[prefix + "running_mean"].shape[0])
                self.assertEqual(list(layer["tensors"]), ["weight", "bias", "running_mean",
                                                          "running_var", "num_batches_tracked"])
                for suffix, tensor in layer["tensors"].items():
                    want = "int64" if suffix == "num_batches_tracked" else dtype
                    self.assertEqual(tensor["dtype"], want)
                    self.assertEqual(tensor["shape"], list(state[prefix + suffix].shape))
                self.assertEqual(layer["num_batches_tracked"],
                                 int(state[prefix + "num_batches_tracked"]))
                for role in ROLES:
                    want = summary(state[prefix + role])
                    for key in ["min", "max", "median", "nonfinite"]:
                        self.assertEqual(layer[role][key], want[key], (role, key))
                    self.assertAlmostEqual(layer[role]["mean"], want["mean"], delta=abs(want["mean"]) * 1e-14)
                want_flags = flags(state, prefix, threshold)
                self.assertEqual(layer["flags"], want_flags)
                self.assertIsNone(layer["problem"])
                for key in totals:
                    totals[key] += want_flags[key]
        self.assertEqual(got["total"], {"layers": 3, "channels": sum(LAYERS.values()), **totals})
        return totals

    def test_npz_state_dict(self):
        np.savez(self.path("model.npz"), **self.state)
        totals = self.check(self.report("model.npz"), self.state, "float32")
        # What was planted is what is counted.
        self.assertEqual(totals, {"var_zero": 2, "var_nan": 1, "var_inf": 1, "var_negative": 1,
                                  "gamma_small": 3})
        self.assertEqual(self.report("model.npz")["layers"][0]["num_batches_tracked"], 4)

    def test_safetensors_in_every_float_dtype(self):
        for cast, dtype in [(None, "float32"), (np.float16, "float16"), (np.float64, "float64"),
                            ("BF16", "bfloat16")]:
            save_safetensors(self.path("model.safetensors"), self.state, cast)
            self.check(self.report("model.safetensors"), as_read(self.state, cast), dtype)

    def test_random_models_grid(self):
        """Models of 1 to 6 layers of 1 to 40 channels, each value of running_var and weight
        drawn from the kinds a trained model holds and the broken ones (0, -0, NaN, +-Inf,
        negative, subnormal, tiny gamma), in float16, float32, float64 and bfloat16, as .npz
        and .safetensors: every summary and flag against NumPy.  BNORM_LARGE_GRID=1 runs 200
        models instead of 12."""
        rng = np.random.default_rng(1313)
        kinds = [lambda: rng.uniform(0.5, 2), lambda: 0.0, lambda: -0.0, lambda: math.nan,
                 lambda: math.inf, lambda: -math.inf, lambda: -rng.uniform(0, 1),
                 lambda: 1e-40, lambda: rng.uniform(-0.02, 0.02)]
        casts = [(None, "float32", "npz"), (np.float16, "float16", "npz"),
                 (np.float64, "float64", "safetensors"), ("BF16", "bfloat16", "safetensors"),
                 (None, "float32", "safetensors")]
        for model in range(200 if LARGE else 12):
            cast, dtype, fmt = casts[model % len(casts)]
            state, sizes = {}, {}
            for layer in range(int(rng.integers(1, 7))):
                prefix = f"features.{layer}.bn."
                c = int(rng.integers(1, 41))
                sizes[prefix] = c
                weights = [1.0, 0.5, 0.5, 0.02, 0.02, 0.02, 0.2, 0.1, 0.6]
                draw = lambda: np.array([kinds[rng.choice(len(kinds), p=np.array(weights) /
                                                          sum(weights))]() for _ in range(c)],
                                        np.float32)
                state[prefix + "weight"] = draw()
                state[prefix + "bias"] = rng.normal(size=c).astype(np.float32)
                state[prefix + "running_mean"] = rng.normal(size=c).astype(np.float32)
                state[prefix + "running_var"] = draw()
                state[prefix + "num_batches_tracked"] = np.array(rng.integers(0, 2**62), np.int64)
            if fmt == "npz":
                arrays = {k: (v.astype(cast) if cast is not None and v.dtype.kind == "f" else v)
                          for k, v in state.items()}
                np.savez(self.path("m.npz"), **arrays)
            else:
                save_safetensors(self.path("m.safetensors"), state, cast)
            read = as_read(state, cast)
            threshold = float(rng.choice([0.0, 1e-2, 0.015, 1.0]))
            with self.subTest(model=model, dtype=dtype, fmt=fmt):
                got = self.report(f"m.{fmt}", "--gamma-threshold", repr(threshold))
                self.assertEqual([l["prefix"] for l in got["layers"]], list(sizes))
                for layer in got["layers"]:
                    prefix = layer["prefix"]
                    self.assertEqual(layer["channels"], sizes[prefix])
                    self.assertEqual(layer["num_batches_tracked"],
                                     int(state[prefix + "num_batches_tracked"]))
                    self.assertEqual(layer["flags"], flags(read, prefix, threshold))
                    for role in ROLES:
                        values = np.asarray(read[prefix + role], np.float64)
                        if not np.isfinite(values).any():
                            self.assertTrue(math.isnan(layer[role]["median"]))
                            continue
                        want = summary(values)
                        for key in ["min", "max", "median", "nonfinite"]:
                            self.assertEqual(layer[role][key], want[key], (prefix, role, key))
                        self.assertAlmostEqual(layer[role]["mean"], want["mean"],
                                               delta=abs(want["mean"]) * 1e-13 + 1e-300)

    def test_gamma_threshold(self):
        np.savez(self.path("model.npz"), **self.state)
        for threshold in [0.0, 1e-3, 0.0050000001, 0.5, 2.0]:
            with self.subTest(threshold=threshold):
                got = self.report("model.npz", "--gamma-threshold", repr(threshold))
                self.check(got, self.state, "float32", threshold)

    def test_gamma_percentile_is_numpys_over_every_layer(self):
        """Network Slimming's global threshold: numpy.percentile of every layer's |gamma|,
        to the last bit, and the channels below it counted; --prefix does not narrow it."""
        np.savez(self.path("model.npz"), **self.state)
        gammas = np.concatenate([np.abs(self.state[p + "weight"].astype(np.float64))
                                 for p in LAYERS])
        for percentile in [0, 10, 25, 50, 62.5, 90, 100]:
            threshold = np.percentile(gammas, percentile)
            with self.subTest(percentile=percentile):
                got = self.report("model.npz", "--gamma-percentile", str(percentile))
                self.assertEqual(got["gamma_percentile"], percentile)
                self.assertEqual(got["gamma_threshold"], threshold)
                self.check(got, self.state, "float32", threshold)
                self.assertEqual(got["total"]["gamma_small"], int((gammas < threshold).sum()))
                one = self.report("model.npz", "--gamma-percentile", str(percentile),
                                  "--prefix", "bn2.")
                self.assertEqual(one["gamma_threshold"], threshold)

    def test_csv_and_table_say_what_json_says(self):
        np.savez(self.path("model.npz"), **self.state)
        got = self.report("model.npz")
        result = self.bnorm("layers", "model.npz", "--format", "csv")
        self.assertEqual(result.status, 0, result)
        rows = list(csv.DictReader(io.StringIO(result.stdout.decode())))
        self.assertEqual([r["prefix"] for r in rows], list(LAYERS))
        for row, layer in zip(rows, got["layers"]):
            prefix = layer["prefix"]
            self.assertEqual(int(row["channels"]), LAYERS[prefix])
            self.assertEqual(row["dtypes"], "float32")
            self.assertEqual(int(row["num_batches_tracked"]), 4)
            for role in ROLES:
                want = summary(self.state[prefix + role])
                for key in ["min", "max", "median"]:
                    self.assertEqual(float(row[f"{role}_{key}"]), want[key])
                self.assertEqual(int(row[f"{role}_nonfinite"]), want["nonfinite"])
            for key, count in flags(self.state, prefix, 1e-2).items():
                self.assertEqual(int(row[key]), count)
        table = self.bnorm("layers", "model.npz", "--format", "table").stdout.decode()
        lines = table.splitlines()
        self.assertEqual(lines[0], "model.npz: 3 batch-normalization layers, 12 channels")
        for line, prefix in zip(lines[2:5], LAYERS):
            cells = line.split()
            self.assertEqual(cells[:4], [prefix, str(LAYERS[prefix]), "float32", "4"])
            self.assertEqual([int(c) for c in cells[-5:]],
                             list(flags(self.state, prefix, 1e-2).values()))
            var = summary(self.state[prefix + "running_var"])
            self.assertEqual(float(cells[4]), float(f"{var['min']:.4g}"))
        self.assertEqual(lines[5].split(), ["all", "12", "2", "1", "1", "1", "3"])

    def test_prefix_shows_one_layer_per_channel(self):
        np.savez(self.path("model.npz"), **self.state)
        got = self.report("model.npz", "--prefix", "bn2.")
        self.assertEqual([l["prefix"] for l in got["layers"]], ["bn2."])
        values = got["layers"][0]["values"]
        for role in ROLES:
            want = self.state["bn2." + role].astype(np.float64)
            np.testing.assert_array_equal(np.array(values[role], dtype=np.float64), want)
        self.assertEqual(got["total"]["channels"], 4)
        table = self.bnorm("layers", "model.npz", "--prefix", "bn2.", "--format", "table")
        rows = [l.split() for l in table.stdout.decode().splitlines() if l[:7].strip().isdigit()]
        self.assertEqual([r[0] for r in rows], ["0", "1", "2", "3"])
        self.assertEqual(rows[2][2], "nan")
        self.assertEqual(float(rows[0][2]), -0.25)

    def test_counter_is_exact_past_two_to_the_53(self):
        self.state["bn1.num_batches_tracked"] = np.array(2**53 + 1, np.int64)
        self.state["bn2.num_batches_tracked"] = np.array(2**63 - 1, np.int64)
        save_safetensors(self.path("model.safetensors"), self.state)
        got = self.report("model.safetensors")
        self.assertEqual([l["num_batches_tracked"] for l in got["layers"]],
                         [2**53 + 1, 2**63 - 1, 4])

    def test_keras_names_and_a_layer_without_affine_or_counter(self):
        rng = np.random.default_rng(3)
        arrays = {"dense/kernel": rng.normal(size=(4, 3)).astype(np.float32)}
        for name in ["gamma", "beta", "moving_mean", "moving_variance"]:
            arrays["batch_normalization/" + name] = rng.uniform(0.001, 2, 3).astype(np.float32)
        arrays["plain.running_mean"] = rng.normal(size=2)
        arrays["plain.running_var"] = rng.uniform(1, 2, 2)
        np.savez(self.path("k.npz"), **arrays)
        got = self.report("k.npz")
        keras, plain = got["layers"]
        self.assertEqual(keras["prefix"], "batch_normalization/")
        self.assertEqual(list(keras["tensors"]), ["gamma", "beta", "moving_mean", "moving_variance"])
        self.assertEqual(keras["weight"]["min"], float(arrays["batch_normalization/gamma"].min()))
        self.assertEqual(keras["running_var"]["max"],
                         float(arrays["batch_normalization/moving_variance"].max()))
        self.assertEqual(keras["flags"]["gamma_small"],
                         int((np.abs(arrays["batch_normalization/gamma"]) < 1e-2).sum()))
        self.assertIsNone(keras["num_batches_tracked"])
        self.assertEqual(plain["prefix"], "plain.")
        self.assertEqual(plain["channels"], 2)
        self.assertIsNone(plain["weight"])
        self.assertIsNone(plain["bias"])
        self.assertEqual(plain["running_mean"]["median"], float(np.median(arrays["plain.running_mean"])))
        self.assertEqual(plain["flags"]["gamma_small"], 0)

    def test_a_layer_that_does_not_agree_is_reported_not_refused(self):
        self.state["bn2.running_var"] = np.ones(7, np.float32)
        self.state["bn1.weight"] = np.ones((5, 1), np.float32)
        self.state["block.0.num_batches_tracked"] = np.array([1, 2], np.int64)
        np.savez(self.path("model.npz"), **self.state)
        got = self.report("model.npz")
        problems = {l["prefix"]: l["problem"] for l in got["layers"]}
        self.assertEqual(problems, {
            "bn1.": "weight has shape (5, 1), not one value per channel",
            "bn2.": "running_var has 7 values, running_mean 4",
            "block.0.": "num_batches_tracked is not one non-negative integer"})
        self.assertEqual(got["layers"][1]["channels"], 4)
        self.assertEqual(got["layers"][1]["running_var"]["max"], 1.0)


def svg_size(svg):
    root = ET.fromstring(svg)
    return int(float(root.get("width"))), int(float(root.get("height"))), root


NS = "{http://www.w3.org/2000/svg}"


@unittest.skipUnless(shutil.which("chromium"), "needs Debian's chromium")
class Plot(ScratchTestCase):
    def render(self, svg_path, width, height):
        png = self.path("plot.png")
        subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                        "--no-first-run", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync",
                        "--hide-scrollbars",
                        f"--user-data-dir={self.path('chromium-profile')}",
                        f"--screenshot={png}", f"--window-size={width},{height}",
                        f"file://{svg_path}"],
                       capture_output=True, timeout=120, check=True)
        w, h, channels, rows = png_pixels(png.read_bytes())
        self.assertEqual((w, h), (width, height))
        return lambda x, y: rows[y][x * channels:x * channels + 3]

    def test_rows_and_marks_where_they_belong(self):
        state = planted_state()
        np.savez(self.path("model.npz"), **state)
        result = self.bnorm("layers", "model.npz", "--plot", "layers.svg", "--format", "csv")
        self.assertEqual(result.status, 0, result)
        svg = self.path("layers.svg").read_text()
        again = self.bnorm("layers", "model.npz", "--plot", "again.svg", "--format", "csv")
        self.assertEqual(again.status, 0, again)
        self.assertEqual(self.path("again.svg").read_text(), svg, "the picture is not deterministic")
        width, height, root = svg_size(svg)
        rows = [g for g in root.iter(NS + "g") if g.get("class") == "layer"]
        self.assertEqual(len(rows), 3)
        ys = [float(g.get("data-y")) for g in rows]
        self.assertEqual(ys, sorted(ys))
        labels = [t for g in rows for t in g.iter(NS + "text") if "name" in t.get("class")]
        self.assertEqual([t.find(NS + "title").tail for t in labels], list(LAYERS))
        # A layer with a flagged channel has its name marked; all three have one.
        self.assertEqual([t.get("class") for t in labels], ["name flagged"] * 3)
        pixel = self.render(self.path("layers.svg"), width, height)

        def marks(row, panel):
            group = [g for g in row.iter(NS + "g") if g.get("class") == panel][0]
            return {g.get("class").split()[1]: g for g in group.iter(NS + "g")
                    if (g.get("class") or "").startswith("mark")}

        def dots(row, panel):
            group = [g for g in row.iter(NS + "g") if g.get("class") == panel][0]
            return [float(c.get("cx")) for c in group.iter(NS + "circle")]

        colour = {"zero": (0xd6, 0x27, 0x28), "negative": (0x94, 0x67, 0xbd),
                  "nan": (0, 0, 0), "inf": (0xff, 0x7f, 0x0e)}
        want = {}
        for prefix in LAYERS:
            var = state[prefix + "running_var"].astype(np.float64)
            gamma = np.abs(state[prefix + "weight"].astype(np.float64))
            want[prefix] = {
                "var": {k for k, n in [("zero", (var == 0).sum()), ("nan", np.isnan(var).sum()),
                                       ("inf", np.isinf(var).sum()),
                                       ("negative", ((var < 0) & np.isfinite(var)).sum())] if n},
                "gamma": {k for k, n in [("zero", (gamma == 0).sum())] if n}}
        self.assertEqual(want["bn1."]["var"], {"zero", "inf"})
        for row, prefix, y in zip(rows, LAYERS, ys):
            for panel in ["gamma", "var"]:
                found = marks(row, panel)
                with self.subTest(layer=prefix, panel=panel):
                    self.assertEqual(set(found), want[prefix][panel])
                    values = state[prefix + ("weight" if panel == "gamma" else "running_var")]
                    values = np.abs(values) if panel == "gamma" else values
                    placed = np.isfinite(values) & (values > 0)
                    xs = dots(row, panel)
                    self.assertEqual(len(xs), int(placed.sum()))
                    # Each placed channel between the end slots, the marks outside them.
                    ends = [float(l.get("x1")) for l in root.iter(NS + "line")
                            if l.get("class") == "end"]
                    left, right = (ends[0], ends[1]) if panel == "gamma" else (ends[2], ends[3])
                    self.assertTrue(all(left <= x <= right for x in xs), (xs, left, right))
                    # On a log10 axis, increasing: x is a + b log10(value) with b > 0, to the
                    # 0.1 pixel the picture is written in.
                    logs = np.sort(np.log10(values[placed].astype(np.float64)))
                    if logs[-1] > logs[0]:
                        b, a = np.polyfit(logs, np.sort(xs), 1)
                        self.assertGreater(b, 0)
                        self.assertLess(np.abs(a + b * logs - np.sort(xs)).max(), 0.1)
                    if panel == "gamma":
                        group = [g for g in row.iter(NS + "g") if g.get("class") == panel][0]
                        small = [c for c in group.iter(NS + "circle")
                                 if c.get("class") == "dot small"]
                        self.assertEqual(len(small), int((values[placed] < 1e-2).sum()))
                    for kind, group in found.items():
                        shape = next(iter(group.iter(NS + "rect")), None)
                        shape = shape if shape is not None else next(group.iter(NS + "path"))
                        title = group.find(NS + "title").text
                        self.assertTrue(title.startswith("1 "), title)
                        # Where the mark is: left of the axis for zero and negative, right for
                        # NaN and Inf, in this row.
                        numbers = [float(v) for v in
                                   (shape.get("d") or "").replace("M", " ").replace("L", " ")
                                   .replace("Z", " ").split()] if shape.get("d") else \
                            [float(shape.get("x")) + 5, float(shape.get("y")) + 5]
                        mx = sum(numbers[0::2]) / len(numbers[0::2])
                        my = sum(numbers[1::2]) / len(numbers[1::2])
                        self.assertAlmostEqual(my, y, delta=2)
                        self.assertTrue(mx < left if kind in ("zero", "negative") else mx > right)
                        # And it is drawn there, in its colour.
                        near = [pixel(int(mx) + dx, int(y) + dy) for dx in range(-3, 4)
                                for dy in range(-3, 4)]
                        self.assertTrue(any(max(abs(a - b) for a, b in zip(p, colour[kind])) < 40
                                            for p in near), (prefix, panel, kind, near))
        # A healthy row shows no mark's colour at its ends: block.0.'s gamma row has only
        # its zero, and bn2.'s gamma row none.
        self.assertEqual(marks(rows[1], "gamma"), {})
        ends = [float(l.get("x1")) for l in root.iter(NS + "line") if l.get("class") == "end"]
        for x in [ends[0] - 11, ends[1] + 11]:
            near = [pixel(int(x) + dx, int(ys[1]) + dy) for dx in range(-6, 7)
                    for dy in range(-6, 7)]
            for kind, want_colour in colour.items():
                self.assertFalse(any(max(abs(a - b) for a, b in zip(p, want_colour)) < 40
                                     for p in near), (kind, x))

    def test_the_rows_axis_says_what_it_lists(self):
        """The column of names is headed as the other two axes are: what a row is (a layer,
        by the prefix of its tensors' names), inside the picture, over the names."""
        np.savez(self.path("model.npz"), **planted_state())
        result = self.bnorm("layers", "model.npz", "--plot", "layers.svg", "--format", "csv")
        self.assertEqual(result.status, 0, result)
        laid = laid_out_texts(self.path("layers.svg"), self.path("chromium-profile"))
        texts = laid["texts"]
        headings = [t for t in texts if t[0] == "heading rows"]
        self.assertEqual([t[1] for t in headings], ["layer (name prefix)"])
        box = headings[0][2:]
        self.assertTrue(0 <= box[0] and box[2] <= laid["width"] and 0 <= box[1] and
                        box[3] <= laid["height"], box)
        names = [t[2:] for t in texts if (t[0] or "").startswith("name")]
        self.assertEqual(len(names), len(LAYERS))
        # Over the names, right-aligned with them, and clear of every other text.
        self.assertLess(box[3], min(n[1] for n in names))
        self.assertAlmostEqual(box[2], max(n[2] for n in names), delta=1)
        self.assertEqual([t for t in texts if t[0] != "heading rows" and overlaps(box, t[2:])], [])

    def test_thousands_of_channels_draw_a_dot_per_pixel(self):
        rng = np.random.default_rng(5)
        state = {"wide.weight": rng.uniform(1e-3, 1, 4096).astype(np.float32),
                 "wide.running_mean": np.zeros(4096, np.float32),
                 "wide.running_var": rng.uniform(0.5, 2, 4096).astype(np.float32)}
        np.savez(self.path("w.npz"), **state)
        self.assertEqual(self.bnorm("layers", "w.npz", "--plot", "w.svg").status, 0)
        _, _, root = svg_size(self.path("w.svg").read_text())
        for panel in ["gamma", "var"]:
            group = [g for g in root.iter(NS + "g") if g.get("class") == panel][0]
            xs = [float(c.get("cx")) for c in group.iter(NS + "circle")]
            self.assertLess(len(xs), 400)  # the panel's width in pixels, not 4096
            self.assertTrue(all(x == round(x) for x in xs))
            small = [c for c in group.iter(NS + "circle") if c.get("class") == "dot small"]
            self.assertEqual(len(small) > 0, panel == "gamma")

    def test_a_pt_key_not_xml_text_gives_well_formed_xml(self):
        """pickle keeps a lone surrogate (surrogatepass) and U+FFFE is a str like any other;
        neither is an XML character, so the picture must not hold them as they are."""
        for odd in ["\ud800", "\udfff", "\ufffe", "\uffff"]:
            with self.subTest(odd=ascii(odd)):
                prefix = "bn" + odd + "."
                bn = torch.nn.BatchNorm1d(3)
                torch.save({prefix + k: v for k, v in bn.state_dict().items()},
                           self.path("odd.pt"))
                result = self.bnorm("layers", "odd.pt", "--plot", "odd.svg", "--format", "table")
                encoded = prefix.encode("utf-8", "surrogatepass")
                if not is_utf8(encoded):
                    # A lone surrogate, which pickle carries and UTF-8 cannot: the .pt reader
                    # refuses the name (exit 3), and no picture is written.
                    self.assertFailsWith(result, 3, "holds a lone surrogate")
                    self.assertFalse(self.path("odd.svg").exists())
                    continue
                self.assertEqual(result.status, 0, result)
                root = ET.fromstring(self.path("odd.svg").read_bytes())
                titles = [t.text for t in root.iter(NS + "title")]
                shown = prefix.translate({0xFFFE: 0xFFFD, 0xFFFF: 0xFFFD})
                self.assertIn(shown, titles)
                result = self.bnorm("layers", "odd.pt", "--format", "json")
                self.assertEqual(result.status, 0, result)
                self.assertIn(prefix, json.loads(result.stdout.decode("utf-8"))["layers"][0]["prefix"])

    def test_names_a_person_can_read(self):
        """A long prefix keeps its end, a control byte is escaped (XML forbids it), and
        the same model draws the same bytes."""
        ones = np.ones(2, np.float32).tobytes()
        long_prefix = "model.backbone.stages.3.blocks.11.mlp.norm."
        tensors = {}
        for prefix in [long_prefix, "odd\u0001\n.", "é."]:
            tensors[prefix + "running_mean"] = ("F32", (2,), ones)
            tensors[prefix + "running_var"] = ("F32", (2,), ones)
        write_safetensors(self.path("m.safetensors"), tensors)
        result = self.bnorm("layers", "m.safetensors", "--plot", "m.svg", "--format", "table")
        self.assertEqual(result.status, 0, result)
        lines = result.stdout.decode().splitlines()
        self.assertEqual([l.split()[0] for l in lines[2:5]],
                         [long_prefix, "'odd\\x01\\x0a.'", "é."])
        # Aligned by characters, not bytes.
        self.assertEqual(len({l.index(" 2 float32") for l in lines[2:5]}), 1, lines)
        _, _, root = svg_size(self.path("m.svg").read_text())
        labels = [t for t in root.iter(NS + "text") if "name" in (t.get("class") or "")]
        shown = [t.find(NS + "title").tail for t in labels]
        self.assertEqual(shown[0], "..." + long_prefix[-27:])
        self.assertEqual(labels[0].find(NS + "title").text, long_prefix)
        self.assertEqual(shown[1:], ["'odd\\x01\\x0a.'", "é."])


if __name__ == "__main__":
    unittest.main()
