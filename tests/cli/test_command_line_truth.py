# SPDX-License-Identifier: Apache-2.0
"""What the command line says is what it does (issue #11, section 7).

compare's dtype rule over every pair of formats and dtypes; NaN and infinities in compare
against numpy.isclose and torch.testing's own mismatch figures; every subcommand's flags as a
table with the reason for each, and the combinations that would be silently ignored refused;
extra positionals; --channels against Python's range(C)[slice]; --state formats and
directories; standard output on a full device; counts with their plural.

BNORM_LARGE_GRID=1 runs the whole --channels grids (C in 1..5, 7; start, stop and step in
None, -8..8; and C in 1, 3, 5 with bounds and steps around +-2^62 and +-2^63) instead of a
fixed sample of each; under the sanitizers (BNORM_SANITIZED=1) a smaller sample still, since
each case is a process, whose start-up ASan slows many times, and what they check there is that
the same parser stays within its memory and arithmetic, which the Release run's grid checks
value by value."""
import io
import itertools
import json
import math
import os
import random
import re
import struct
import unittest
import zipfile

import numpy as np
import torch

from cli_support import ScratchTestCase, run, write_safetensors

LARGE = os.environ.get("BNORM_LARGE_GRID") == "1"
SANITIZED = os.environ.get("BNORM_SANITIZED") == "1" and not LARGE

VALUES = [[1, 0], [0, 1]]  # exact in every dtype, bool included

# dtype name -> (numpy dtype or None, safetensors name)
DTYPES = {
    "float16": (np.float16, "F16"),
    "float32": (np.float32, "F32"),
    "float64": (np.float64, "F64"),
    "int32": (np.int32, "I32"),
    "bool": (np.bool_, "BOOL"),
    "bfloat16": (None, "BF16"),
}


def bfloat16_bytes(values):
    return torch.tensor(values, dtype=torch.bfloat16).view(torch.int16).numpy().tobytes()


class DtypeRule(ScratchTestCase):
    """A dtype difference is reported when both files carry a dtype, never for JSON."""

    def write(self, fmt, dtype, stem):
        """The tensor VALUES as `dtype` in format `fmt`, beside an unrelated tensor in
        containers (so --tensor matters); returns the path, or None when `fmt` cannot hold
        `dtype`."""
        np_type, st_name = DTYPES[dtype]
        path = self.path(f"{stem}.{fmt}")
        other = np.arange(6, dtype=np.float32).reshape(3, 2)
        if fmt == "json":
            if dtype != "float64":
                return None  # JSON numbers have no dtype: one file stands for all
            path.write_text(json.dumps(VALUES))
        elif fmt == "npy":
            if np_type is None:
                return None
            np.save(path, np.array(VALUES, dtype=np_type))
        elif fmt == "npz":
            if np_type is None:
                return None
            np.savez(path, other=other, x=np.array(VALUES, dtype=np_type))
        else:
            raw = (bfloat16_bytes(VALUES) if np_type is None
                   else np.array(VALUES, dtype=np_type).tobytes())
            write_safetensors(path, {"other": ("F32", (3, 2), other.tobytes()),
                                     "x": (st_name, (2, 2), raw)})
        return path

    def test_grid(self):
        formats = ["npy", "npz", "safetensors", "json"]
        cases = 0
        for fa, fe in itertools.product(formats, formats):
            for da, de in itertools.product(DTYPES, DTYPES):
                a = self.write(fa, da, "a")
                e = self.write(fe, de, "e")
                if a is None or e is None:
                    continue
                args = ["compare", a.name, e.name]
                if "npz" in (fa, fe) or "safetensors" in (fa, fe):
                    args += ["--tensor", "x"]
                typed = fa != "json" and fe != "json"
                differs = typed and da != de
                with self.subTest(actual=(fa, da), expected=(fe, de)):
                    text = self.bnorm(*args)
                    self.assertEqual(text.status, 1 if differs else 0, text)
                    self.assertEqual(b"dtypes differ" in text.stdout, differs, text.stdout)
                    report = self.bnorm(*args, "--format", "json")
                    self.assertEqual(report.status, text.status, report)
                    got = json.loads(report.stdout)
                    self.assertEqual(got["dtypes_differ"], differs)
                    self.assertEqual(got["equal"], not differs)
                    self.assertEqual(got["mismatched"], 0)
                    self.assertEqual(got["dtype"]["actual"], None if fa == "json" else da)
                    self.assertEqual(got["dtype"]["expected"], None if fe == "json" else de)
                cases += 1
        self.assertGreater(cases, 200)
        # Byte order is how a file stores its dtype, not another dtype.
        np.save(self.path("big.npy"), np.array(VALUES, dtype=">f4"))
        np.save(self.path("little.npy"), np.array(VALUES, dtype="<f4"))
        result = self.bnorm("compare", "big.npy", "little.npy")
        self.assertEqual(result.status, 0, result)


SPECIALS = [math.nan, math.inf, -math.inf, 1.0, 2.5]


def torch_figures(actual, expected, equal_nan):
    """torch.testing.assert_close's mismatch figures: mismatches, and the greatest absolute
    and relative differences over the mismatched elements with their flat indices."""
    a, e = torch.tensor(actual, dtype=torch.float64), torch.tensor(expected, dtype=torch.float64)
    matches = torch.isclose(a, e, rtol=1e-5, atol=1e-8, equal_nan=equal_nan)
    abs_diff = torch.abs(a - e)
    abs_diff[matches] = 0
    rel_diff = abs_diff / torch.abs(e)
    rel_diff[matches] = 0
    max_abs, abs_index = torch.max(abs_diff, 0)
    max_rel, rel_index = torch.max(rel_diff, 0)
    return int((~matches).sum()), max_abs.item(), int(abs_index), max_rel.item(), int(rel_index)


def same_number(x, y):
    return (math.isnan(x) and math.isnan(y)) or x == y


class NonFinite(ScratchTestCase):
    """NaN and infinities against numbers, infinities and NaN, at every position, with and
    without --equal-nan: mismatches as numpy.isclose finds them, the largest errors as
    torch.testing reports them, never "max abs error 0" for a mismatch."""

    def test_tensors(self):
        checked = 0
        for a_value, e_value in itertools.product(SPECIALS, SPECIALS):
            if math.isfinite(a_value) and math.isfinite(e_value):
                continue
            for position, equal_nan in itertools.product(range(4), [False, True]):
                actual = [1.0, -3.0, 0.5, 8.0]
                expected = list(actual)
                actual[position], expected[position] = a_value, e_value
                np.save(self.path("a.npy"), np.array(actual))
                np.save(self.path("e.npy"), np.array(expected))
                flags = ["--equal-nan"] if equal_nan else []
                match = bool(np.isclose(a_value, e_value, equal_nan=equal_nan))
                mismatched, max_abs, abs_index, max_rel, rel_index = torch_figures(
                    actual, expected, equal_nan)
                with self.subTest(actual=a_value, expected=e_value, position=position,
                                  equal_nan=equal_nan):
                    result = self.bnorm("compare", "a.npy", "e.npy", "--format", "json", *flags)
                    self.assertEqual(result.status, 0 if match else 1, result)
                    got = json.loads(result.stdout)
                    self.assertEqual(got["mismatched"], mismatched)
                    self.assertEqual(got["nonfinite_mismatched"], mismatched)
                    self.assertTrue(same_number(got["max_abs_error"]["value"], max_abs),
                                    (got["max_abs_error"], max_abs))
                    self.assertTrue(same_number(got["max_rel_error"]["value"], max_rel),
                                    (got["max_rel_error"], max_rel))
                    if not match:
                        self.assertEqual(got["max_abs_error"]["index"], [abs_index])
                        self.assertEqual(got["max_rel_error"]["index"], [rel_index])
                        self.assertEqual(got["mismatches"][0]["index"], [position])
                        self.assertTrue(same_number(got["mismatches"][0]["actual"], a_value))
                        self.assertTrue(same_number(got["mismatches"][0]["expected"], e_value))
                    text = self.bnorm("compare", "a.npy", "e.npy", *flags).stdout.decode()
                    if not match:
                        self.assertNotIn("max abs error 0 ", text)
                        self.assertIn(f"mismatches with NaN or an infinity: 1, the first at "
                                      f"[{position}]", text)
                checked += 1
        self.assertEqual(checked, 21 * 8)

    def test_tensors_in_any_memory_order(self):
        """(2, 3) tensors, C or Fortran order on either side: the index is the C index."""
        positions = range(6) if LARGE else [4]
        pairs = [(math.nan, 1.0), (math.inf, -math.inf), (1.0, -math.inf), (math.nan, math.inf)]
        for (a_value, e_value), position, orders in itertools.product(
                pairs, positions, itertools.product("CF", "CF")):
            actual = np.arange(1.0, 7.0).reshape(2, 3)
            expected = actual.copy()
            actual.flat[position], expected.flat[position] = a_value, e_value
            np.save(self.path("a.npy"), np.asarray(actual, order=orders[0]))
            np.save(self.path("e.npy"), np.asarray(expected, order=orders[1]))
            _, max_abs, abs_index, _, _ = torch_figures(actual.ravel(), expected.ravel(), False)
            with self.subTest(actual=a_value, expected=e_value, position=position, orders=orders):
                result = self.bnorm("compare", "a.npy", "e.npy", "--format", "json")
                self.assertEqual(result.status, 1, result)
                got = json.loads(result.stdout)
                self.assertEqual(got["nonfinite_mismatched"], 1)
                self.assertTrue(same_number(got["max_abs_error"]["value"], max_abs))
                self.assertEqual(got["max_abs_error"]["index"], list(np.unravel_index(abs_index,
                                                                                      (2, 3))))
                self.assertEqual(got["mismatches"][0]["index"],
                                 list(np.unravel_index(position, (2, 3))))

    def test_documents(self):
        for a_value, e_value in itertools.product(SPECIALS, SPECIALS):
            for equal_nan in [False, True]:
                self.path("a.json").write_text(json.dumps({"mean": [2.0, a_value]}))
                self.path("e.json").write_text(json.dumps({"mean": [2.0, e_value]}))
                flags = ["--equal-nan"] if equal_nan else []
                match = bool(np.isclose(a_value, e_value, equal_nan=equal_nan))
                with self.subTest(actual=a_value, expected=e_value, equal_nan=equal_nan):
                    result = self.bnorm("compare", "a.json", "e.json", *flags)
                    self.assertEqual(result.status, 0 if match else 1, result)
                    text = result.stdout.decode()
                    if not match:
                        self.assertIn("differ in 1 place beyond", text)
                        spell = lambda v: ("NaN" if math.isnan(v) else "Infinity" if v == math.inf
                                           else "-Infinity" if v == -math.inf else {1.0: "1", 2.5: "2.5"}[v])
                        self.assertIn(f"mean[1]: {spell(a_value)} != {spell(e_value)}", text)


# Every flag of every subcommand's --help, and why the subcommand has it.  A flag missing
# here that --help shows, or the other way round, fails the test.
FEEDBACK = {"-q": "a pass over the data draws a progress bar", "-v": "reports the passes"}
LAYER = {"--convention": "defaults of eps and axis", "--eps": "normalization",
         "--axis": "channel axis", "--state": "running statistics, weight, bias",
         "--state-prefix": "names in an .npz/.safetensors --state"}
INPUT = {"INPUT": "the tensor", "--input-format": "format of INPUT",
         "--tensor": "tensor of a container INPUT", "--missing": "a table's empty fields"}
OUTPUT = {"-o": "the output", "--output-format": "format of the output"}
FLAGS = {
    "apply": {**INPUT, **OUTPUT, **LAYER, **FEEDBACK, "--mode": "train or eval",
              "--convention": "defaults and the meaning of --momentum",
              "--momentum": "updates the running statistics written to --stats-out",
              "--no-affine": "affine=False", "--no-track-running-stats": "no running state",
              "--stats-out": "statistics and state", "--virtual-batch-size": "ghost batches",
              "--batch-stats": "merged shard statistics", "--files-from": "a list of inputs",
              "-0": "NUL-separated list", "--no-output": "recalibration only",
              "--reset-running-stats": "update_bn's reset", "-j": "files at once"},
    # No --momentum: stats writes no running statistics.  The layer flags but --convention
    # and --axis only matter for --after.
    "stats": {**INPUT, **LAYER, **FEEDBACK, "--mode": "--after's normalization",
              "--beside": "drawn in --plot", "--format": "report format",
              "--files-from": "more inputs", "-0": "NUL-separated list", "-j": "threads",
              "--per-sample": "per-sample estimator",
              "--channels": "which channels", "--plot": "the picture",
              "--partial": "mergeable statistics", "--after": "normalized INPUT in --plot"},
    # No -q/-v: layers reads a few small tensors.
    "layers": {"MODEL": "the model", "--input-format": "format of MODEL",
               "--format": "report format", "--gamma-threshold": "which |gamma| is small",
               "--gamma-percentile": "a global threshold",
               "--prefix": "one layer", "--plot": "the picture"},
    # No -q/-v: compare makes no pass that a bar or --verbose describes.
    "compare": {"ACTUAL": "", "EXPECTED": "", "--tensor": "tensor of a container file",
                "--rtol": "isclose", "--atol": "isclose", "--ulp": "instead of rtol/atol",
                "--equal-nan": "NaN matches NaN", "--ignore-extra-keys": "documents only",
                "--format": "report format", "--missing": "a table's empty fields"},
    "convert": {**INPUT, **OUTPUT, "OUTPUT": "the output, or -o", "--dtype": "output type",
                **FEEDBACK},
    "merge": {"PARTIAL": "the shards", "-o": "the merged statistics",
              "--files-from": "more inputs", "-0": "NUL-separated list"},
    # No --momentum: backward updates no running statistics.
    "backward": {**INPUT, **OUTPUT, **LAYER, **FEEDBACK, "--mode": "train or eval",
                 "--grad-output": "the gradient", "--grads-out": "grad_weight and grad_bias",
                 "--no-affine": "no grad_weight", "--no-track-running-stats": "batch stats"},
    # No --mode: folding is eval mode.  No --momentum: nothing is updated.
    "fold": {"WEIGHT": "the weight", "--input-format": "format of WEIGHT",
             "--tensor": "tensor of a container WEIGHT", **OUTPUT, **LAYER, **FEEDBACK,
             "--bias": "the layer's bias", "--bias-out": "the folded bias",
             "--format": "a model's report"},
}


def help_flags(subcommand):
    """The positionals and the first name of every option in `bnorm SUBCOMMAND --help`, every
    name of them, and the text."""
    text = run([subcommand, "--help"]).stdout.decode()
    first, names = set(), set()
    section = None
    for line in text.splitlines():
        if line in ("Positionals:", "Options:"):
            section = line
            continue
        match = re.match(r"  ((?:-[-\w]+,?)+|[A-Z]+)\b", line)
        if not match or section is None:
            continue
        aliases = [n for n in match.group(1).split(",") if n and n not in ("-h", "--help")]
        first.update(aliases[:1])
        names.update(aliases)
    return first, names, text


class Flags(ScratchTestCase):
    def test_every_subcommand_shows_exactly_the_flags_it_honours(self):
        for subcommand, table in FLAGS.items():
            with self.subTest(subcommand=subcommand):
                first, _, _ = help_flags(subcommand)
                self.assertEqual(first, set(table))

    def test_help_names_no_flag_the_subcommand_lacks(self):
        for subcommand in FLAGS:
            _, names, text = help_flags(subcommand)
            # "stats --partial" in merge's help names another subcommand's flag.
            mentioned = {flag for before, flag in
                         re.findall(r"(\w*) ?(?<![\w-])(--[a-z][-a-z]*)", text)
                         if before not in FLAGS}
            with self.subTest(subcommand=subcommand):
                self.assertEqual(mentioned - names - {"--help"}, set())
                if "--momentum" not in names:
                    self.assertNotIn("momentum", text)

    def test_flags_that_would_be_ignored_are_refused(self):
        np.save(self.path("x.npy"), np.ones((2, 3)))
        self.path("s.json").write_text("{}")
        self.path("d.json").write_text(json.dumps({"mean": [1.0]}))
        self.path("r.json").write_text(json.dumps({"running_mean": [0, 0, 0],
                                                   "running_var": [1, 1, 1]}))
        self.path("p.json").write_bytes(self.bnorm("stats", "x.npy", "--partial").stdout)
        self.assertEqual(self.bnorm("merge", "p.json", "-o", "m.json").status, 0)
        cases = [
            (["apply", "x.npy", "-o", "y.npy", "--mode", "eval", "--state", "r.json",
              "--virtual-batch-size", "1"], "--virtual-batch-size", "eval"),
            (["apply", "x.npy", "-o", "y.npy", "--batch-stats", "m.json",
              "--virtual-batch-size", "1"], "--virtual-batch-size", "--batch-stats"),
            (["stats", "x.npy", "--beside", "-", "--plot", "p.svg"], "--beside", "standard input"),
            (["stats", "x.npy", "--beside", "x.npy"], "x.npy", "--plot"),
            (["stats", "x.npy", "--beside", "x.npy", "--format", "csv"], "--plot"),
            (["stats", "x.npy", "--per-sample", "--after", "--plot", "p.svg"], "--after"),
            (["stats", "x.npy", "x.npy", "--after", "--plot", "p.svg"], "--after", "one INPUT"),
            (["stats", "x.npy", "--per-sample", "--partial"], "--partial"),
            (["stats", "x.npy", "--after"], "--plot"),
            (["stats", "x.npy", "--eps", "0.1"], "--eps", "--after"),
            (["stats", "x.npy", "--mode", "eval"], "--mode", "--after"),
            (["stats", "x.npy", "--state", "s.json"], "--state", "--after"),
            (["stats", "x.npy", "--state", "s.npz", "--state-prefix", "bn."], "--after"),
            (["stats", "x.npy", "--partial", "--format", "csv"], "--partial", "csv"),
            (["compare", "x.npy", "x.npy", "--ulp", "1", "--rtol", "1"], "--ulp"),
            (["compare", "x.npy", "x.npy", "--atol", "1", "--ulp", "1"], "--ulp"),
            (["compare", "x.npy", "x.npy", "--ignore-extra-keys"], "--ignore-extra-keys"),
            (["compare", "x.npy", "x.npy", "--tensor", "x"], "--tensor"),
            (["compare", "d.json", "d.json", "--tensor", "x"], "--tensor"),
            (["fold", "x.npy", "-o", "w.npy", "--bias-out", "b.npy", "--mode", "eval"], "--mode"),
            (["stats", "x.npy", "--momentum", "0.1"], "--momentum"),
            (["backward", "x.npy", "--grad-output", "x.npy", "-o", "g.npy", "--momentum", "0.1"],
             "--momentum"),
            (["compare", "x.npy", "x.npy", "-v"], "-v"),
            (["merge", "s.json", "-o", "m.json", "-q"], "-q"),
        ]
        for args, *phrases in cases:
            with self.subTest(args=args):
                self.assertFailsWith(self.bnorm(*args), 2, *phrases)
        self.assertNoStrayFiles("x.npy", "s.json", "d.json", "r.json", "p.json", "m.json")
        # What is honoured still works.
        self.assertEqual(self.bnorm("apply", "x.npy", "-o", "y.npy", "--mode", "eval",
                                    "--no-track-running-stats", "--virtual-batch-size", "2").status,
                         0)
        self.assertEqual(self.bnorm("stats", "x.npy", "--beside", "x.npy", "--plot", "p.svg").status,
                         0)
        result = self.bnorm("stats", "x.npy", "--after", "--eps", "0.5", "--plot", "q.svg")
        self.assertEqual(result.status, 0, result)
        self.assertEqual(self.bnorm("stats", "x.npy", "--partial", "--format", "json").status, 0)
        self.assertEqual(self.bnorm("compare", "x.npy", "x.npy", "--ulp", "0").status, 0)


# A run of each subcommand that succeeds: positionals (upper case) in order, then options.
BASE = {
    "apply": {"INPUT": "x.npy", "-o": "out.json", "--state": "wr.json"},
    "stats": {"INPUT": "x.npy", "--after": None, "--plot": "out.svg"},
    "layers": {"MODEL": "samples/model.safetensors", "--plot": "out.svg"},
    "compare": {"ACTUAL": "x.npy", "EXPECTED": "x.npy"},
    "convert": {"INPUT": "x.npy", "OUTPUT": "out.json"},
    "merge": {"PARTIAL": "p.json", "-o": "out.json"},
    "backward": {"INPUT": "x.npy", "--grad-output": "g.npy", "-o": "out.json",
                 "--state": "wr.json"},
    "fold": {"WEIGHT": "w.npy", "-o": "out.json", "--bias-out": "bias.json",
             "--state": "wr.json"},
}
# A value each option must refuse (exit 2, 3 or 4, naming the flag or the value).
BAD = {"--input-format": "xml", "--output-format": "xml", "--tensor": "nope", "--mode": "bad",
       "--convention": "bad", "--eps": "-1", "--momentum": "2", "--axis": "7",
       "--state": "missing.json", "--state-prefix": "bn.", "--virtual-batch-size": "0",
       "--batch-stats": "missing.json", "--stats-out": "no-dir/s.json", "--format": "xml",
       "--channels": "x", "--plot": "no-dir/p.svg", "--rtol": "-1", "--atol": "-1",
       "--ulp": "-1", "--dtype": "int8", "--grad-output": "missing.npy",
       "--grads-out": "no-dir/g.json", "--bias": "missing.npy", "--bias-out": "no-dir/b.json",
       "-o": "no-dir/o.json", "INPUT": "missing.npy", "OUTPUT": "no-dir/o.json",
       "--beside": "missing.npy", "--files-from": "missing.txt", "-j": "0", "ACTUAL": "missing.npy", "EXPECTED": "missing.npy",
       "WEIGHT": "missing.npy", "PARTIAL": "missing.json", "MODEL": "missing.npz",
       "--gamma-threshold": "-1", "--gamma-percentile": "101", "--prefix": "nope.",
       "--files-from": "missing.list", "-j": "0", "--missing": "zero"}
REMOVE = object()  # in a change to BASE: leave this key out (None is a switch's no value)
BAD_BASE = {("stats", "--beside"): {"--after": REMOVE}, ("convert", "-o"): {"OUTPUT": REMOVE}}
# Switches, and where each must change the result (status, stdout, stderr or the outputs).
SWITCHES = {
    ("apply", "--no-affine"): {},
    ("apply", "--no-track-running-stats"): {"--mode": "eval"},
    ("apply", "-0"): {"INPUT": REMOVE, "--files-from": "list0"},
    ("apply", "--no-output"): {"-o": REMOVE, "--stats-out": "out-s.json"},
    ("apply", "--reset-running-stats"): {"--stats-out": "out-s.json"},
    ("backward", "--no-affine"): {},
    ("backward", "--no-track-running-stats"): {"--mode": "eval"},
    ("stats", "--partial"): {"--after": REMOVE, "--plot": REMOVE},
    ("stats", "--after"): {"--after": REMOVE},
    ("stats", "--per-sample"): {"--after": REMOVE},
    ("compare", "--equal-nan"): {"ACTUAL": "n.npy", "EXPECTED": "n.npy"},
    ("compare", "--ignore-extra-keys"): {"ACTUAL": "more.json", "EXPECTED": "less.json"},
    **{(sub, "-v"): {} for sub in ["apply", "stats", "convert", "backward", "fold"]},
}
# -q only changes what a terminal shows: test_progress checks it on a pseudo-terminal.
EXEMPT = {(sub, "-q") for sub in ["apply", "stats", "convert", "backward", "fold"]}
# -0 changes how --files-from's names are split: tests/cases/dataset checks it.
EXEMPT |= {("stats", "-0"), ("merge", "-0")}


def changed(base, changes):
    spec = dict(base)
    for key, value in changes.items():
        if value is REMOVE:
            spec.pop(key, None)
        else:
            spec[key] = value
    return spec


def command(subcommand, spec):
    args = [subcommand] + [v for k, v in spec.items() if k.isupper() and v is not None]
    for key, value in spec.items():
        if not key.isupper():
            args += [key] if value is None else [key, value]
    return args


class EveryFlagMatters(ScratchTestCase):
    def setUp(self):
        super().setUp()
        rng = np.random.default_rng(8)
        np.save(self.path("x.npy"), rng.normal(size=(4, 3)))
        np.save(self.path("g.npy"), rng.normal(size=(4, 3)))
        np.save(self.path("w.npy"), rng.normal(size=(3, 2)))
        np.save(self.path("n.npy"), np.array([[1.0, math.nan, 2.0]]))
        # One name with a newline, as -0 reads it; split at the newline without -0.
        np.save(self.path("x\n.npy"), rng.normal(size=(4, 3)))
        self.path("list0").write_bytes(b"x\n.npy\0")
        self.path("wr.json").write_text(json.dumps({
            "weight": [2, 3, 4], "bias": [1, 1, 1], "running_mean": [0.5, 0.5, 0.5],
            "running_var": [2, 2, 2]}))
        self.path("more.json").write_text(json.dumps({"eps": 1.0, "extra": 2}))
        self.path("less.json").write_text(json.dumps({"eps": 1.0}))
        self.path("p.json").write_bytes(self.bnorm("stats", "x.npy", "--partial").stdout)

    def outcome(self, args):
        for out in self.dir.glob("out*"):
            out.unlink()
        result = self.bnorm(*args)
        files = {p.name: p.read_bytes() for p in sorted(self.dir.glob("out*"))}
        return result.status, result.stdout, result.stderr, files

    def test_every_flag_is_validated_or_changes_the_result(self):
        checked = 0
        for subcommand, base in BASE.items():
            first, names, _ = help_flags(subcommand)
            self.assertEqual(self.outcome(command(subcommand, base))[0], 0, subcommand)
            for flag in sorted(first):
                with self.subTest(subcommand=subcommand, flag=flag):
                    checked += 1
                    if (subcommand, flag) in EXEMPT:
                        continue
                    if (subcommand, flag) in SWITCHES:
                        spec = changed(base, SWITCHES[(subcommand, flag)])
                        without = self.outcome(command(subcommand, spec))
                        with_flag = self.outcome(command(subcommand, {**spec, flag: None}))
                        self.assertNotEqual(with_flag, without)
                        self.assertIn(with_flag[0], (0, 1), with_flag[2])
                        # What --verbose says names no flag the subcommand lacks.
                        said = set(re.findall(r"(?<![\w-])(--[a-z][-a-z]*)", with_flag[2]))
                        self.assertEqual(said - names, set(), with_flag[2])
                        continue
                    self.assertIn(flag, BAD, "a flag with no test")
                    spec = changed(base, {**BAD_BASE.get((subcommand, flag), {}), flag: BAD[flag]})
                    status, _, stderr, _ = self.outcome(command(subcommand, spec))
                    self.assertIn(status, (2, 3, 4), stderr)
                    self.assertTrue(flag in stderr or BAD[flag] in stderr, stderr)
        self.assertEqual(checked, sum(len(table) for table in FLAGS.values()))


class Outputs(ScratchTestCase):
    def test_every_subcommand_that_writes_a_file_takes_dash_o(self):
        """-o/--output names the file a subcommand writes, in every one that writes one; the
        others print a report on standard output (a picture, --plot, is an extra)."""
        listed = run(["--help"]).stdout.decode().split("Subcommands:")[1]
        subcommands = re.findall(r"^  ([a-z]+) ", listed, re.M)
        self.assertEqual(set(subcommands) - {"help"}, set(FLAGS))
        takes = {sub for sub in FLAGS if {"-o", "--output"} <= help_flags(sub)[1]}
        self.assertEqual(set(FLAGS) - takes, {"stats", "layers", "compare"})

    def test_convert_takes_its_output_either_way_but_once(self):
        np.save(self.path("x.npy"), np.arange(6.0).reshape(2, 3))
        for args in (["y.json"], ["-o", "y.json"], ["--output", "y.json"], ["--output=y.json"], ["-oy.json"]):
            with self.subTest(args=args):
                self.assertEqual(self.bnorm("convert", "x.npy", *args).status, 0)
                self.assertEqual(json.loads(self.path("y.json").read_text()),
                                 np.load(self.path("x.npy")).tolist())
                self.path("y.json").unlink()
        self.assertFailsWith(self.bnorm("convert", "x.npy", "a.json", "-o", "b.json"), 2,
                             "OUTPUT", "--output")
        self.assertFailsWith(self.bnorm("convert", "x.npy"), 2, "OUTPUT", "--output")
        self.assertNoStrayFiles("x.npy")
        # The help says it: OUTPUT, or -o, not both.
        text = help_flags("convert")[2]
        self.assertRegex(text, r"Usage: bnorm convert \[OPTIONS\] INPUT \[OUTPUT\]")
        self.assertRegex(text, r"OUTPUT FILE Excludes: --output\n")
        self.assertRegex(text, r"-o,--output FILE Excludes: OUTPUT\n")


class Positionals(ScratchTestCase):
    def test_an_extra_positional_is_a_usage_error_naming_it(self):
        np.save(self.path("x.npy"), np.ones((2, 3)))
        self.path("p.json").write_text("{}")
        cases = [
            ["apply", "x.npy", "extra.npy", "-o", "y.npy"],
            ["layers", "samples/model.safetensors", "extra.npy"],
            ["compare", "x.npy", "x.npy", "extra.npy"],
            ["convert", "x.npy", "y.npy", "extra.npy"],
            ["backward", "x.npy", "extra.npy", "--grad-output", "x.npy", "-o", "y.npy"],
            ["fold", "x.npy", "extra.npy", "-o", "y.npy", "--bias-out", "b.npy"],
            ["help", "apply", "extra.npy"],
        ]
        for args in cases:
            with self.subTest(args=args):
                self.assertFailsWith(self.bnorm(*args), 2, "extra.npy")


def python_slice(text, count):
    """range(count)[text] as Python evaluates it, or the exception's type."""
    try:
        selected = eval(f"range({count})[{text}]")  # noqa: S307 - our own digits and colons
    except (IndexError, ValueError) as error:
        return type(error)
    return [selected] if isinstance(selected, int) else list(selected)


def slice_texts():
    bounds = [None, *range(-8, 9)]
    texts = []
    for start, stop, step in itertools.product(bounds, bounds, bounds):
        part = lambda v: "" if v is None else str(v)
        texts.append(f"{part(start)}:{part(stop)}" + ("" if step is None else f":{step}"))
    texts += [str(i) for i in range(-9, 10)]
    return texts


# Where 64-bit arithmetic on a bound or a step overflows: at and around +-2^62 and +-2^63.
HUGE = [2**63 - 2, 2**63 - 1, 2**63, 2**63 + 1, 2**62 - 1, 2**62, 2**62 + 1]
HUGE += [-v for v in HUGE]


def huge_slice_texts(large):
    """Slices whose step, bounds or both are huge; without `large`, a small bounds sample."""
    bounds = [None, -4, -3, -1, 0, 1, 2, 4, *HUGE] if large else [None, -2, 1, 2**63 - 1, -2**63]
    steps = [*HUGE, -2, -1, 2]
    part = lambda v: "" if v is None else str(v)
    texts = [f"{part(start)}:{part(stop)}:{step}"
             for start, stop, step in itertools.product(bounds, bounds, steps)]
    return texts + [f"{part(start)}:{part(stop)}" for start, stop in
                    itertools.product(bounds, bounds)] + [str(v) for v in HUGE]


class Channels(ScratchTestCase):
    """--channels against Python's own range(C)[slice]."""

    def assertSelectsAsPython(self, count, text):
        want = python_slice(text, count)
        with self.subTest(channels=count, text=text):
            result = self.bnorm("stats", f"c{count}.npy", "--format", "csv", f"--channels={text}")
            if want is ValueError:
                self.assertFailsWith(result, 2, "--channels", "step")
            elif want is IndexError:
                self.assertFailsWith(result, 3, "--channels", "outside")
            else:
                self.assertEqual(result.status, 0, result)
                rows = result.stdout.decode().splitlines()[1:]
                self.assertEqual([r.split(",")[0] for r in rows], [str(c) for c in want] + ["all"])

    def test_huge_steps_and_bounds(self):
        # A step near 2^63 once overflowed `c += step` and selected channels far outside.
        counts = [1, 3, 5] if LARGE else [3, 5]
        grid = [(c, t) for c in counts for t in huge_slice_texts(LARGE)]
        if SANITIZED:
            grid = random.Random(12).sample(grid, len(grid) // 4)
        grid += [(5, "1::9223372036854775807"), (3, "-2:2:9223372036854775807"),
                 (5, "2:-1:9223372036854775807"), (5, "2::9223372036854775806"),
                 (5, "::-9223372036854775808"), (5, "4::-9223372036854775807"),
                 (5, "::9223372036854775808")]
        for count in counts:
            np.save(self.path(f"c{count}.npy"), np.arange(2 * count, dtype=float).reshape(2, count))
        for count, text in grid:
            self.assertSelectsAsPython(count, text)
        print(f"--channels huge grid: {len(grid)} cases", flush=True)

    def test_python_slice_grid(self):
        counts = [1, 2, 3, 4, 5, 7]
        grid = [(c, t) for c in counts for t in slice_texts()]
        if not LARGE:
            grid = random.Random(11).sample(grid, 100 if SANITIZED else 400)
            grid += [(3, "::0"), (3, "5:9"), (3, "-9:2"), (7, "::-2"), (7, "5:1:-2"), (1, "-1")]
        big = "100000000000000000000000"
        grid += [(5, f"{big}:"), (5, f"-{big}:2"), (5, f"::-{big}"), (5, f"::{big}"), (5, big),
                 (5, f"-{big}"), (5, "+1:+3"), (5, "-0:")]
        for count in counts:
            np.save(self.path(f"c{count}.npy"), np.arange(2 * count, dtype=float).reshape(2, count))
        for count, text in grid:
            self.assertSelectsAsPython(count, text)
        print(f"--channels grid: {len(grid)} cases", flush=True)
        for text in ["a", "1:2:3:4", "1.5", "+-1", ":x"]:
            with self.subTest(text=text):
                self.assertFailsWith(self.bnorm("stats", "c3.npy", f"--channels={text}"), 2,
                                     "--channels")

    def test_json_names_the_channels_in_order(self):
        x = np.random.default_rng(5).normal(size=(3, 7))
        np.save(self.path("x.npy"), x)
        got = json.loads(self.bnorm("stats", "x.npy", "--format", "json",
                                    "--channels=5:0:-2").stdout)
        self.assertEqual(got["channels"], [5, 3, 1])
        np.testing.assert_allclose(got["mean"], x.mean(axis=0)[5:0:-2], rtol=1e-12)


class InputFiles(ScratchTestCase):
    def setUp(self):
        super().setUp()
        np.save(self.path("x.npy"), np.ones((2, 3)))
        self.path("state.json").write_text(json.dumps({"running_mean": [0, 0, 0],
                                                       "running_var": [1, 1, 1]}))
        self.path("partial.json").write_bytes(
            self.bnorm("stats", "x.npy", "--partial").stdout)

    def test_a_tensor_as_state_names_the_formats(self):
        for args in [["apply", "x.npy", "-o", "y.npy"],
                     ["stats", "x.npy", "--after", "--plot", "p.svg"],
                     ["backward", "x.npy", "--grad-output", "x.npy", "-o", "y.npy"],
                     ["fold", "x.npy", "-o", "y.npy", "--bias-out", "b.npy", "--axis", "1"]]:
            with self.subTest(args=args):
                self.assertFailsWith(self.bnorm(*args, "--state", "x.npy"), 2,
                                     "x.npy", "JSON", ".npz", ".safetensors")
        self.path("state.pkl").write_bytes(b"\x80\x02PK")
        self.assertFailsWith(self.bnorm("apply", "x.npy", "-o", "y.npy", "--state", "state.pkl"),
                             3, "state.pkl", "JSON", ".npz", ".safetensors")
        # Merged and partial statistics are JSON only, and say so.
        self.assertFailsWith(self.bnorm("apply", "x.npy", "-o", "y.npy", "--batch-stats", "x.npy"),
                             3, "x.npy", "JSON of bnorm merge")
        self.assertFailsWith(self.bnorm("merge", "partial.json", "x.npy", "-o", "m.json"), 3,
                             "x.npy", "JSON of stats --partial")

    def test_a_directory_is_a_directory(self):
        runs = {
            # The INPUTs of apply and stats walk a folder (test_apply_many, test_dataset_stats).
            "stats --beside": lambda d: ["stats", "x.npy", "--beside", d, "--plot", "p.svg"],
            "--state": lambda d: ["apply", "x.npy", "-o", "y.npy", "--state", d],
            "stats --state": lambda d: ["stats", "x.npy", "--after", "--plot", "p.svg",
                                        "--state", d],
            "--batch-stats": lambda d: ["apply", "x.npy", "-o", "y.npy", "--batch-stats", d],
            "--grad-output": lambda d: ["backward", "x.npy", "--grad-output", d, "-o", "y.npy"],
            "backward INPUT": lambda d: ["backward", d, "--grad-output", "x.npy", "-o", "y.npy"],
            "--bias": lambda d: ["fold", "x.npy", "-o", "y.npy", "--bias-out", "b.npy",
                                 "--state", "state.json", "--axis", "1", "--bias", d],
            "WEIGHT": lambda d: ["fold", d, "-o", "y.npy", "--bias-out", "b.npy",
                                 "--state", "state.json"],
            "convert": lambda d: ["convert", d, "y.npy"],
            "compare ACTUAL": lambda d: ["compare", d, "x.npy"],
            "compare EXPECTED": lambda d: ["compare", "x.npy", d],
        }
        for folder in ["folder", "folder.npy", "folder.json", "folder.npz", "folder.safetensors"]:
            (self.dir / folder).mkdir()
            for what, args in runs.items():
                with self.subTest(input=what, folder=folder):
                    self.assertFailsWith(self.bnorm(*args(folder)), 4, folder,
                                         "Is a directory")
            # A folder of inputs is walked: an empty one names nothing to read.
            for args in (["stats", folder], ["merge", "partial.json", folder, "-o", "m.json"]):
                with self.subTest(args=args):
                    self.assertFailsWith(self.bnorm(*args), 2, folder, "holds no file")
            (self.dir / folder).rmdir()


class FullDevice(ScratchTestCase):
    """Every writer of standard output fails with status 4 and one line on a full device."""

    def full(self, *args):
        with open("/dev/full", "wb") as full:
            import subprocess
            from cli_support import BNORM
            completed = subprocess.run([BNORM, *map(str, args)], cwd=self.dir, stdout=full,
                                       stderr=subprocess.PIPE, timeout=60)
        return completed.returncode, completed.stderr.decode()

    def test_every_writer(self):
        np.save(self.path("x.npy"), np.random.default_rng(1).normal(size=(4, 3)))
        np.save(self.path("z.npy"), np.zeros((4, 3)))
        self.path("partial.json").write_bytes(self.bnorm("stats", "x.npy", "--partial").stdout)
        self.path("s.json").write_text(json.dumps({"mean": [1.0]}))
        runs = [["--help"], ["--version"], ["help"], ["help", "help"]]
        for subcommand in FLAGS:
            runs += [[subcommand, "--help"], ["help", subcommand]]
        runs += [
            ["stats", "x.npy"], ["stats", "x.npy", "--format", "csv"],
            ["stats", "x.npy", "--format", "table"], ["stats", "x.npy", "--partial"],
            ["layers", "samples/model.safetensors"],
            ["layers", "samples/model.safetensors", "--format", "csv"],
            ["compare", "x.npy", "z.npy"], ["compare", "x.npy", "x.npy", "--format", "json"],
            ["compare", "s.json", "s.json"],
            ["merge", "partial.json", "-o", "-"],
            ["apply", "x.npy", "-o", "-", "--output-format", "json"],
            ["convert", "x.npy", "-", "--output-format", "npy"],
            ["backward", "x.npy", "--grad-output", "x.npy", "-o", "-", "--output-format", "npy"],
        ]
        for args in runs:
            with self.subTest(args=args):
                status, stderr = self.full(*args)
                self.assertEqual(status, 4, stderr)
                lines = stderr.splitlines()
                self.assertEqual(len(lines), 1, stderr)
                self.assertTrue(lines[0].startswith("bnorm: error: <stdout>"), lines[0])
                self.assertIn("No space left on device", lines[0])


def zip_with_one_byte_too_many():
    """An np.savez archive changed in each place where a ZIP reader counts bytes or entries,
    by one: name -> (bytes, the singular phrase bnorm's message must hold)."""
    def savez():
        buffer = io.BytesIO()
        np.savez(buffer, x=np.array([1.0]))
        return bytearray(buffer.getvalue())

    def end_record(data):  # where it starts, the central directory's size and offset
        at = len(data) - 22
        return (at, *struct.unpack_from("<II", data, at + 12))

    archives = {}
    data = savez()
    at, size, offset = end_record(data)
    struct.pack_into("<I", data, at + 12, 1)
    archives["size"] = data, "central directory (1 byte at byte"
    archives["entries"] = (struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, 0, 0, 0),
                           "claims 1 entry, more than")
    data = savez()
    at, size, offset = end_record(data)
    data[at:at] = b"\0"
    struct.pack_into("<I", data, at + 1 + 12, size + 1)
    archives["after_last_entry"] = data, "central directory has 1 byte after its last entry"
    data = savez()
    at, size, offset = end_record(data)
    data[offset:offset] = b"\0"
    struct.pack_into("<I", data, at + 1 + 16, offset + 1)
    archives["before_directory"] = data, "belongs to no member (the central directory starts"
    data = savez()
    at, size, offset = end_record(data)
    data[0:0] = b"\0"
    struct.pack_into("<I", data, at + 1 + 16, offset + 1)
    struct.pack_into("<I", data, offset + 1 + 42, struct.unpack_from("<I", data, offset + 43)[0] + 1)
    archives["before_first_member"] = data, "1 byte at byte 0 belongs to no member"
    data = savez()
    at, size, offset = end_record(data)
    name_size, extra_size = struct.unpack_from("<HH", data, offset + 28)
    end = offset + 46 + name_size + extra_size
    data[end:end] = struct.pack("<HHB", 1, 1, 0)  # a ZIP64 field of one byte, deferred none
    struct.pack_into("<H", data, offset + 30, extra_size + 5)
    struct.pack_into("<I", data, at + 5 + 12, size + 5)
    archives["zip64_surplus"] = data, "ZIP64 extra field holds 1 byte more than"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("x.npy", b"a" * 100000)
    data = bytearray(buffer.getvalue())
    at, size, offset = end_record(data)
    struct.pack_into("<I", data, 22, 1)  # declared size 1, in the local and the central header
    struct.pack_into("<I", data, offset + 24, 1)
    archives["inflated_size"] = data, "inflates to more than its declared 1 byte\n"
    return archives


class Grammar(ScratchTestCase):
    def test_one_is_singular(self):
        np.save(self.path("one.npy"), np.array([[1.0]]))
        np.save(self.path("two.npy"), np.array([[2.0]]))
        text = self.bnorm("compare", "one.npy", "two.npy").stdout.decode()
        self.assertIn("1 of 1 element (100%) differs", text)
        text = self.bnorm("compare", "one.npy", "one.npy").stdout.decode()
        self.assertIn("the 1 element matches", text)
        text = self.bnorm("stats", "one.npy", "--format", "table").stdout.decode()
        self.assertIn("1 channel of 1 value\n", text)
        self.path("a.json").write_text(json.dumps({"eps": 1.0}))
        self.path("b.json").write_text(json.dumps({"eps": 2.0}))
        self.assertIn(b"differ in 1 place beyond", self.bnorm("compare", "a.json", "b.json").stdout)
        self.assertFailsWith(self.bnorm("stats", "one.npy", "--channels", "3"), 3,
                             "outside the 1 channel")
        np.save(self.path("wide.npy"), np.ones((2, 41)))
        text = self.bnorm("stats", "wide.npy", "--format", "table").stdout.decode()
        self.assertIn("... 11 more channels", text)

    def test_one_is_singular_in_every_message_that_counts(self):
        """Each message that puts a count before a noun, given a count of one."""
        np.save(self.path("x4.npy"), np.ones((2, 4)))
        np.save(self.path("x1.npy"), np.ones((2, 1)))
        self.path("p1.json").write_bytes(self.bnorm("stats", "x1.npy", "--partial").stdout)
        self.assertEqual(self.bnorm("merge", "p1.json", "-o", "m1.json").status, 0)
        self.path("a.json").write_text(json.dumps({"running_mean": [1.0]}))
        self.path("b.json").write_text(json.dumps({"running_mean": [1.0, 2.0]}))
        self.path("ragged.json").write_text("[[1, 2], [3]]")
        self.path("nonfinite.json").write_text(
            '{"partial": true, "count": [4], "min": [0], "max": [2], "mean": [1.5], "m2": [NaN],'
            ' "nonfinite": [1]}')
        self.path("one.safetensors").write_bytes(b"x")
        self.path("one.npz").write_bytes(b"x")
        header = json.dumps({"t": {"dtype": "BOOL", "shape": [1], "data_offsets": [0, 2]}})
        self.path("bool.safetensors").write_bytes(
            struct.pack("<Q", len(header)) + header.encode() + b"\x01\x01")
        np.save(self.path("bool.npy"), np.array([True]))
        longer = self.path("bool.npy").read_bytes() + b"\x01"
        with self.subTest(args="compare a.json b.json"):
            self.assertIn(b"running_mean: 1 element, expected 2\n",
                          self.bnorm("compare", "a.json", "b.json").stdout)
        cases = [
            (["apply", "x4.npy", "-o", "y.npy", "--batch-stats", "m1.json"], None,
             "m1.json: 1 channel, but the input has 4"),
            (["stats", "ragged.json"], None, "ragged array: 1 element where"),
            (["merge", "nonfinite.json", "-o", "m.json"], None,
             "counts 1 NaN or infinite value\n"),
            (["stats", "one.safetensors"], None, "not a safetensors file: 1 byte,"),
            (["stats", "bool.safetensors"], None, "do not span the 1 byte shape (1,)"),
            (["stats", "one.npz"], None, "not a zip archive: 1 byte,"),
            (["convert", "-", "o.json", "--input-format", "npy"], longer,
             "is longer than the 1 byte shape (1,)"),
        ]
        for name, (data, phrase) in zip_with_one_byte_too_many().items():
            self.path(f"{name}.npz").write_bytes(data)
            cases.append((["stats", f"{name}.npz"], None, phrase))
        for args, stdin, phrase in cases:
            with self.subTest(args=args):
                result = self.bnorm(*args, stdin=stdin)
                self.assertEqual(result.status, 3, result)
                self.assertIn(phrase, result.stderr)


if __name__ == "__main__":
    unittest.main()
