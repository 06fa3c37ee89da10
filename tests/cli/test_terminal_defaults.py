#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Defaults that depend on the terminal never overwrite a flag that was given: stats's report
(a table on a terminal, else JSON) against --format and --partial, and the progress bar (on a
terminal standard error) against --quiet, with --verbose beside both.  Standard output or
standard error is a pseudo-terminal here; the values come from NumPy.

BNORM_LARGE_GRID=1 adds dtypes, layouts and every subcommand's flag combinations.
"""
import csv
import io
import json
import os
import re
import subprocess
import tty
import unittest

import numpy as np

from cli_support import BNORM, ScratchTestCase

LARGE = os.environ.get("BNORM_LARGE_GRID") == "1"


def read_terminal(master):
    """Everything written to a pseudo-terminal until its last writer closes it."""
    received = b""
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the last writer closed the terminal
            break
        if not data:
            break
        received += data
    os.close(master)
    return received


def run_on_terminal(args, cwd, stream, env=None):
    """Runs bnorm with `stream` ("stdout" or "stderr") on a raw pseudo-terminal (no newline
    translation) and the other on a pipe; returns (status, terminal bytes, pipe bytes)."""
    master, slave = os.openpty()
    tty.setraw(slave)
    other = subprocess.PIPE
    process = subprocess.Popen([BNORM, *map(str, args)], cwd=cwd, env=env,
                               stdin=subprocess.DEVNULL,
                               stdout=slave if stream == "stdout" else other,
                               stderr=slave if stream == "stderr" else other)
    os.close(slave)
    terminal = read_terminal(master)
    piped = (process.stderr if stream == "stdout" else process.stdout).read()
    return process.wait(timeout=60), terminal, piped


def run_on_pipes(args, cwd, env=None):
    completed = subprocess.run([BNORM, *map(str, args)], cwd=cwd, env=env,
                               stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    return completed.returncode, completed.stdout, completed.stderr


def channel_reference(x, axis):
    """NumPy's per-channel count, mean, biased variance, m2, min and max, in float64."""
    moved = np.moveaxis(x.astype(np.float64), axis, 0).reshape(x.shape[axis], -1)
    mean = moved.mean(axis=1)
    m2 = ((moved - mean[:, None]) ** 2).sum(axis=1)
    return {"count": moved.shape[1], "mean": mean, "var": moved.var(axis=1), "m2": m2,
            "min": moved.min(axis=1), "max": moved.max(axis=1)}


class StatsReport(ScratchTestCase):
    """stats's report: --partial decides it, then --format, then the terminal."""

    # (flags, expected report): None for the terminal's default.
    FLAG_CELLS = [
        ([], None),
        (["--format", "table"], "table"),
        (["--format", "json"], "json"),
        (["--format", "csv"], "csv"),
        (["--partial"], "partial"),
        (["--partial", "--format", "json"], "partial"),
        (["--partial", "-v"], "partial"),
        (["--partial", "--quiet"], "partial"),
    ]

    def inputs(self):
        rng = np.random.default_rng(12)
        cases = [("float32", (4, 3, 5), 1)]
        if LARGE:
            cases += [("float64", (2, 5, 3, 3), 1), ("float16", (6, 2), 1),
                      ("float32", (3, 4, 7), -1)]
        for dtype, shape, axis in cases:
            x = (rng.standard_normal(shape) * 3 + 1).astype(dtype)
            name = f"x_{dtype}_{'x'.join(map(str, shape))}.npy"
            np.save(self.path(name), x)
            yield name, x, axis

    def check_report(self, kind, out, x, axis, name):
        ref = channel_reference(x, axis)
        text = out.decode()
        if kind == "partial":
            doc = json.loads(text)
            self.assertTrue(doc["partial"])
            self.assertEqual(doc["count"], [ref["count"]] * x.shape[axis])
            np.testing.assert_allclose(doc["mean"], ref["mean"], rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(doc["m2"], ref["m2"], rtol=1e-10, atol=1e-10)
            self.assertNotIn("var", doc)
        elif kind == "json":
            doc = json.loads(text)
            self.assertNotIn("partial", doc)
            np.testing.assert_allclose(doc["mean"], ref["mean"], rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(doc["var"], ref["var"], rtol=1e-10, atol=1e-12)
        elif kind == "csv":
            rows = list(csv.DictReader(io.StringIO(text)))
            self.assertEqual([r["channel"] for r in rows],
                             [str(c) for c in range(x.shape[axis])] + ["all"])
            np.testing.assert_allclose([float(r["mean"]) for r in rows[:-1]], ref["mean"],
                                       rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose([float(r["var"]) for r in rows[:-1]], ref["var"],
                                       rtol=1e-10, atol=1e-12)
        else:
            lines = text.splitlines()
            self.assertTrue(lines[0].startswith(name + ": "), text)
            self.assertEqual(lines[1].split(), ["channel", "mean", "var", "var_unbiased", "std",
                                                "min", "max", "nonfinite"])
            for c in range(x.shape[axis]):
                cells = lines[2 + c].split()
                self.assertEqual(cells[0], str(c))
                self.assertEqual(cells[1], "%.6g" % ref["mean"][c])
                self.assertEqual(cells[2], "%.6g" % ref["var"][c])

    def test_flags_win_over_the_terminal(self):
        for name, x, axis in self.inputs():
            axis_flags = [] if axis == 1 else ["--axis", str(axis)]
            for flags, kind in self.FLAG_CELLS:
                for on_terminal in [True, False]:
                    with self.subTest(input=name, flags=flags, terminal=on_terminal):
                        args = ["stats", name, *axis_flags, *flags]
                        if on_terminal:
                            status, out, err = run_on_terminal(args, self.dir, "stdout")
                        else:
                            status, out, err = run_on_pipes(args, self.dir)
                        self.assertEqual(status, 0, err)
                        if "-v" in flags:
                            self.assertIn(b"pass over the data: statistics\n", err)
                        else:
                            self.assertEqual(err, b"")
                        expected = kind or ("table" if on_terminal else "json")
                        self.check_report(expected, out, x, axis, name)

    def test_contradictions_are_refused_on_a_terminal_too(self):
        np.save(self.path("x.npy"), np.ones((2, 3), dtype=np.float32))
        for flags in [["--partial", "--format", "table"], ["--partial", "--format", "csv"]]:
            for on_terminal in [True, False]:
                with self.subTest(flags=flags, terminal=on_terminal):
                    args = ["stats", "x.npy", *flags]
                    if on_terminal:
                        status, out, err = run_on_terminal(args, self.dir, "stdout")
                    else:
                        status, out, err = run_on_pipes(args, self.dir)
                    self.assertEqual((status, out), (2, b""))
                    self.assertEqual(err.decode(), "bnorm: error: --partial writes JSON, not "
                                     f"--format {flags[-1]}\n")


class ProgressBar(ScratchTestCase):
    """The bar: on a terminal standard error unless --quiet; never on a pipe; --verbose's
    report either way."""

    def setUp(self):
        super().setUp()
        rng = np.random.default_rng(5)
        np.save(self.path("x.npy"), rng.standard_normal((16, 4, 64, 64), dtype=np.float32))
        np.save(self.path("g.npy"), rng.standard_normal((16, 4, 64, 64), dtype=np.float32))
        np.save(self.path("w.npy"), rng.standard_normal((4, 256, 32, 32), dtype=np.float32))
        self.path("state.json").write_text(json.dumps(
            {"running_mean": [0.5, -1, 2, 0], "running_var": [1, 2, 0.5, 4]}))

    COMMANDS = {
        "apply": ["apply", "x.npy", "-o", "y.npy"],
        "stats": ["stats", "x.npy", "--format", "json"],
        "convert": ["convert", "x.npy", "z.npy"],
        "backward": ["backward", "x.npy", "--grad-output", "g.npy", "-o", "gx.npy"],
        "fold": ["fold", "w.npy", "--state", "state.json", "-o", "wf.npy", "--bias-out",
                 "b.npy"],
    }

    def test_quiet_wins_over_the_terminal(self):
        env = dict(os.environ, BNORM_PROGRESS_THRESHOLD="0")
        flag_cells = [[], ["--quiet"], ["-q"], ["--verbose"], ["-q", "-v"]]
        if LARGE:
            flag_cells += [["-v", "-q"], ["--quiet", "--verbose"], ["-q", "-q"]]
        for command, args in self.COMMANDS.items():
            for flags in flag_cells:
                for on_terminal in [True, False]:
                    with self.subTest(command=command, flags=flags, terminal=on_terminal):
                        if on_terminal:
                            status, err, _ = run_on_terminal([*args, *flags], self.dir,
                                                             "stderr", env)
                        else:
                            status, _, err = run_on_pipes([*args, *flags], self.dir, env)
                        text = err.decode()
                        self.assertEqual(status, 0, text)
                        quiet = "-q" in flags or "--quiet" in flags
                        verbose = "-v" in flags or "--verbose" in flags
                        drew_bar = re.search(r"\rbnorm: [\w ]+ \[", text) is not None
                        self.assertEqual(drew_bar, on_terminal and not quiet, text)
                        self.assertEqual("passes over the data" in text
                                         or "pass over the data" in text, verbose, text)
                        lines = [line for line in text.replace("\r", "\n").split("\n") if line]
                        self.assertTrue(all(line.startswith("bnorm: ") or line.strip() == ""
                                            for line in lines), text)


if __name__ == "__main__":
    unittest.main()
