#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""bnorm stats, compare and convert, checked against NumPy's own figures: statistics per
channel, numpy.isclose's verdicts, astype's rounding; and the SVG plot rendered by a real
browser (Debian's chromium) to a PNG that must show the chart."""
import csv
import io
import json
import os
import pathlib
import shutil
import struct
import subprocess
import unittest
import zlib

import numpy as np

from cli_support import SOURCE_DIR, ScratchTestCase


def numpy_stats(x, axis):
    x = x.astype(np.float64)
    axes = tuple(d for d in range(x.ndim) if d != axis % x.ndim)
    finite = np.where(np.isnan(x), np.inf, x)
    return {
        "count": int(np.prod([x.shape[d] for d in axes])),
        "mean": x.mean(axis=axes),
        "var": x.var(axis=axes),
        "var_unbiased": x.var(axis=axes, ddof=1),
        "std": x.std(axis=axes),
        "min": np.nanmin(x, axis=axes),
        "max": np.nanmax(x, axis=axes),
        "nonfinite": (~np.isfinite(x)).sum(axis=axes),
        "all_mean": x.mean(),
        "all_var": x.var(),
    }


class Stats(ScratchTestCase):
    def check_json(self, x, axis, *flags):
        np.save(self.path("x.npy"), x)
        result = self.bnorm("stats", "x.npy", "--format", "json", *flags)
        self.assertEqual(result.status, 0, result)
        got = json.loads(result.stdout)
        want = numpy_stats(x, axis)
        self.assertEqual(got["shape"], list(x.shape))
        self.assertEqual(got["count"], want["count"])
        self.assertEqual(got["num_features"], x.shape[axis])
        for key in ["mean", "var", "var_unbiased", "std", "min", "max"]:
            np.testing.assert_allclose(got[key], want[key], rtol=1e-12, atol=1e-300,
                                       equal_nan=True, err_msg=key)
        np.testing.assert_array_equal(got["nonfinite"], want["nonfinite"])
        np.testing.assert_allclose(got["all"]["mean"], want["all_mean"], rtol=1e-12)
        np.testing.assert_allclose(got["all"]["var"], want["all_var"], rtol=1e-12)
        return got

    def test_channels_first_matches_numpy(self):
        x = np.load(self.path("samples/batch.npy"))
        self.check_json(x, 1)

    def test_channels_last_and_fortran_order(self):
        rng = np.random.default_rng(21)
        x = rng.normal(3, 2, size=(6, 4, 4, 5)).astype(np.float32)
        self.check_json(x, -1, "--axis", "-1")
        self.check_json(np.asfortranarray(x), 1)

    def test_keras_convention_defaults_to_the_last_axis(self):
        x = np.random.default_rng(22).normal(size=(10, 7))
        got = self.check_json(x, -1, "--convention", "keras")
        self.assertEqual(got["axis"], 1)

    def test_non_finite_values_are_counted(self):
        x = np.random.default_rng(23).normal(size=(8, 3))
        x[2, 0], x[5, 0], x[1, 2] = np.nan, np.inf, -np.inf
        got = self.check_json(x, 1)
        self.assertEqual(got["nonfinite"], [2, 0, 1])

    def test_csv_has_the_same_numbers(self):
        x = np.load(self.path("samples/batch.npy"))
        result = self.bnorm("stats", "samples/batch.npy", "--format", "csv")
        self.assertEqual(result.status, 0, result)
        rows = list(csv.DictReader(io.StringIO(result.stdout.decode())))
        self.assertEqual([r["channel"] for r in rows], ["0", "1", "2", "all"])
        want = numpy_stats(x, 1)
        for key in ["mean", "var", "var_unbiased", "std", "min", "max"]:
            np.testing.assert_allclose([float(r[key]) for r in rows[:3]], want[key], rtol=1e-12)

    def test_channel_range(self):
        x = np.random.default_rng(24).normal(size=(5, 12))
        np.save(self.path("x.npy"), x)
        result = self.bnorm("stats", "x.npy", "--format", "json", "--channels", "3:7")
        got = json.loads(result.stdout)
        self.assertEqual(got["channels"], [3, 4, 5, 6])
        np.testing.assert_allclose(got["mean"], x.mean(axis=0)[3:7], rtol=1e-12)
        result = self.bnorm("stats", "x.npy", "--format", "csv", "--channels", "-2:")
        self.assertEqual([r.split(",")[0] for r in result.stdout.decode().splitlines()[1:]],
                         ["10", "11", "all"])

    def test_long_table_stays_readable(self):
        np.save(self.path("x.npy"), np.random.default_rng(25).normal(size=(4, 100)))
        lines = self.bnorm("stats", "x.npy", "--format", "table").stdout.decode().splitlines()
        self.assertLess(len(lines), 40)
        self.assertTrue(any("70 more channels" in line for line in lines), lines)

    def test_the_guides_picture_is_what_its_command_draws(self):
        # docs/GUIDE.md shows docs/batch-stats.svg as the output of its `--after --plot`
        # command, run from the sources' root (the title names samples/batch.npy).
        result = self.bnorm("stats", "samples/batch.npy", "--after", "--plot", "batch.svg",
                            "--format", "csv")
        self.assertEqual(result.status, 0, result)
        self.assertEqual(self.path("batch.svg").read_text(),
                         (SOURCE_DIR / "docs/batch-stats.svg").read_text(),
                         "regenerate docs/batch-stats.svg with the command of docs/GUIDE.md")

    def test_errors(self):
        self.assertFailsWith(self.bnorm("stats", "samples/batch.npy", "--format", "xml"), 2, "--format")
        self.assertFailsWith(self.bnorm("stats", "samples/batch.npy", "--axis", "7"), 3, "axis 7")
        self.assertFailsWith(self.bnorm("stats", "samples/batch.npy", "--channels", "5"), 3,
                             "--channels")
        self.assertFailsWith(self.bnorm("stats", "missing.npy"), 4, "missing.npy")


def laid_out_texts(svg_path, profile):
    """Every <text> of the SVG at `svg_path` as headless chromium lays it out, in the picture's
    pixels: {"width", "height", "texts": [[class, text, left, top, right, bottom], ...]}.  The
    picture is inlined in a page whose script measures each text's box (rotation included)
    and writes the figures into the page, which --dump-dom prints."""
    import html
    import re
    page = pathlib.Path(profile).parent / "measure.html"
    page.write_text(
        "<!DOCTYPE html><html><body style='margin:0'>" + pathlib.Path(svg_path).read_text() +
        "<script>const svg = document.querySelector('svg');"
        "const frame = svg.getBoundingClientRect();"
        "const texts = [...svg.querySelectorAll('text')].map(t => {"
        "  const r = t.getBoundingClientRect();"
        "  return [t.getAttribute('class'), t.textContent, r.left - frame.left,"
        "          r.top - frame.top, r.right - frame.left, r.bottom - frame.top]; });"
        "const out = document.createElement('pre'); out.id = 'measured';"
        "out.textContent = JSON.stringify({width: frame.width, height: frame.height, texts});"
        "document.body.appendChild(out);</script></body></html>")
    dumped = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu",
                             "--disable-quic", "--no-first-run", "--disable-background-networking",
                             "--disable-component-update", "--disable-sync",
                             f"--user-data-dir={profile}", "--dump-dom", f"file://{page}"],
                            capture_output=True, text=True, timeout=120, check=True).stdout
    return json.loads(html.unescape(re.search(r'<pre id="measured">(.*?)</pre>', dumped,
                                              re.S).group(1)))


def overlaps(a, b):
    """Whether two [left, top, right, bottom] boxes share any area."""
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def png_pixels(data):
    """The RGB(A) pixels of an 8-bit non-interlaced PNG, decoded with the standard library."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", body[:10])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    assert depth == 8 and color in (2, 6), (depth, color)
    channels = 3 if color == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 2:
                line[i] = (line[i] + up) & 255
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 255
        rows.append(bytes(line))
        previous = line
    return width, height, channels, rows


@unittest.skipUnless(shutil.which("chromium"), "needs Debian's chromium")
class Plot(ScratchTestCase):
    def render(self, svg):
        png = self.path("plot.png")
        subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                        "--no-first-run", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync",
                        f"--user-data-dir={self.path('chromium-profile')}",
                        f"--screenshot={png}", "--window-size=1120,420", f"file://{svg}"],
                       capture_output=True, timeout=120, check=True)
        return png_pixels(png.read_bytes())

    def test_before_and_after_render_in_a_browser(self):
        result = self.bnorm("stats", "samples/batch.npy", "--after", "--plot", "plot.svg",
                            "--format", "csv")
        self.assertEqual(result.status, 0, result)
        svg = self.path("plot.svg").read_text()
        self.assertIn("samples/batch.npy: shape (4, 3, 5, 5), float32", svg)
        self.assertIn("after normalization (torch, train mode)", svg)
        self.assertEqual(svg.count('class="mean"'), 3 * 2 + 1)  # two panels and the legend
        width, height, channels, rows = self.render(self.path("plot.svg"))
        self.assertEqual((width, height), (1120, 420))
        pixels = [row[i:i + 3] for row in rows for i in range(0, len(row), channels)]
        white = sum(1 for p in pixels if min(p) > 245)
        self.assertLess(white, 0.97 * len(pixels), "the picture is blank")
        orange = sum(1 for p in pixels if p[0] > 180 and 40 < p[1] < 110 and p[2] < 40)
        self.assertGreater(orange, 40, "no mean markers (#d94801) were drawn")
        blue = sum(1 for p in pixels if p[0] < 40 and p[1] < 110 and p[2] > 120)
        self.assertGreater(blue, 100, "no error bars (#08519c) were drawn")

    def test_the_y_axis_says_what_it_measures(self):
        """Each chart's y axis is labelled, turned along the axis, inside the picture and clear
        of the tick labels, however wide they are (numbers of 1e-7, 1e9)."""
        rng = np.random.default_rng(3)
        np.save(self.path("tiny.npy"), (rng.normal(size=(6, 3)) * 3e-7 - 1e-6).astype(np.float32))
        np.save(self.path("huge.npy"), rng.normal(size=(6, 4)) * -2.5e9)
        label = "element value (the tensor's own units)"
        # --after's chart draws the normalized tensor, whose values are no longer the input's
        # units but standardized ones, scaled by weight and shifted by bias.
        normalized = "normalized value (weight·z + bias)"
        self.assertEqual(self.bnorm("apply", "samples/batch.npy", "-o", "y.npy").status, 0)
        for name, extra, wanted in [("samples/batch.npy", ["--after"], [label, normalized]),
                                    ("samples/batch.npy", ["--beside", "y.npy"], [label, label]),
                                    ("tiny.npy", [], [label]), ("huge.npy", [], [label])]:
            panels = len(wanted)
            with self.subTest(input=name, extra=extra):
                result = self.bnorm("stats", name, *extra, "--plot", "plot.svg", "--format", "csv")
                self.assertEqual(result.status, 0, result)
                laid = laid_out_texts(self.path("plot.svg"), self.path("chromium-profile"))
                texts = laid["texts"]
                labels = [t for t in texts if t[0] == "axis y"]
                self.assertEqual([t[1] for t in labels], wanted)
                panel_width = laid["width"] / panels
                for i, (_, _, left, top, right, bottom) in enumerate(labels):
                    box = [left, top, right, bottom]
                    self.assertGreater(bottom - top, 3 * (right - left), "not along the axis")
                    self.assertTrue(i * panel_width <= left and right <= (i + 1) * panel_width and
                                    0 <= top and bottom <= laid["height"], (box, laid["width"]))
                    ticks = [t[2:] for t in texts if t[0] == "tick y" and
                             i * panel_width <= t[2] < (i + 1) * panel_width]
                    self.assertGreater(len(ticks), 2)
                    self.assertLess(right, min(t[0] for t in ticks), (box, ticks))
                    others = [t for t in texts if t[0] != "axis y"]
                    self.assertEqual([t for t in others if overlaps(box, t[2:])], [])

    def test_second_input_is_drawn_beside_the_first(self):
        self.assertEqual(self.bnorm("apply", "samples/batch.npy", "-o", "y.npy").status, 0)
        result = self.bnorm("stats", "samples/batch.npy", "--beside", "y.npy", "--plot", "plot.svg",
                            "--format", "json")
        self.assertEqual(result.status, 0, result)
        svg = self.path("plot.svg").read_text()
        self.assertIn(">y.npy</text>", svg)
        self.render(self.path("plot.svg"))


    def test_a_file_name_with_control_bytes_gives_well_formed_xml(self):
        import shutil
        import xml.etree.ElementTree as ElementTree
        for name in ("a\x01b.npy", "tab\there.npy", "bell\x07&<x>.npy"):
            with self.subTest(name=name):
                shutil.copy(self.path("samples/batch.npy"), self.path(name))
                result = self.bnorm("stats", name, "--plot", "plot.svg", "--format", "json")
                self.assertEqual(result.status, 0, result)
                ElementTree.fromstring(self.path("plot.svg").read_bytes())

    def test_a_file_name_not_xml_text_gives_well_formed_xml(self):
        """Bytes that are not UTF-8, an encoded surrogate and the noncharacters U+FFFE/U+FFFF
        are no XML characters either: the picture shows U+FFFD for each, and a valid name is
        kept as it is."""
        import shutil
        import xml.etree.ElementTree as ElementTree
        names = [b"bad\xff.npy", b"cut\xc3.npy", b"sur\xed\xa0\x80.npy",
                 "nc\ufffe\uffff.npy".encode(), "ok\u00e9\U0001f600.npy".encode()]
        # A grid of names from the bytes where decoders differ: lead bytes at the edges of
        # their ranges, continuation bytes at theirs, and a byte XML forbids.
        import random
        pieces = [b"\x80", b"\xbf", b"\xc1", b"\xc2", b"\xdf", b"\xe0", b"\xa0", b"\xed",
                  b"\x9f", b"\xef", b"\xf0", b"\x90", b"\xf4", b"\x8f", b"\xf5", b"\xff",
                  b"\x01", b"&", b"a", "\ufffe".encode(), "\U0010ffff".encode()]
        rng = random.Random(13)
        count = 2000 if os.environ.get("BNORM_LARGE_GRID") == "1" else 40
        names += [b"".join(rng.choice(pieces) for _ in range(rng.randint(1, 4))) + b".npy"
                  for _ in range(count)]
        for raw in names:
            # Python's decoder with errors="replace" says where each U+FFFD goes.
            not_xml = [0xFFFE, 0xFFFF] + [c for c in range(0x20) if c not in b"\t\n\r"]
            shown = raw.decode("utf-8", "replace").translate({c: 0xFFFD for c in not_xml})
            with self.subTest(name=raw):
                name = os.fsdecode(raw)
                shutil.copy(self.path("samples/batch.npy"), self.path(name))
                result = self.bnorm("stats", name, "--plot", "plot.svg", "--format", "table")
                self.assertEqual(result.status, 0, result)
                root = ElementTree.fromstring(self.path("plot.svg").read_bytes())
                texts = "".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
                self.assertIn(shown, texts)
                # The JSON document names the file the same way, and is JSON.
                result = self.bnorm("stats", name, "--format", "json")
                self.assertEqual(result.status, 0, result)
                self.assertIn(raw.decode("utf-8", "replace").replace("\x01", "\\u0001"), json.dumps(
                    json.loads(result.stdout.decode("utf-8")), ensure_ascii=False))

class Compare(ScratchTestCase):
    def setUp(self):
        super().setUp()
        rng = np.random.default_rng(31)
        self.x = rng.normal(size=(4, 3, 5)).astype(np.float32)
        np.save(self.path("x.npy"), self.x)

    def compare(self, actual, *flags):
        np.save(self.path("a.npy"), actual)
        return self.bnorm("compare", "a.npy", "x.npy", *flags)

    def test_equal(self):
        result = self.compare(self.x)
        self.assertEqual(result.status, 0, result)
        self.assertIn(b"all 60 elements match", result.stdout)

    def test_within_and_outside_tolerance(self):
        nudged = self.x * np.float32(1 + 5e-6)
        self.assertEqual(self.compare(nudged).status, 0)
        self.assertEqual(self.compare(nudged, "--rtol", "1e-7", "--atol", "0").status, 1)

    def test_report_matches_numpy(self):
        rng = np.random.default_rng(32)
        actual = self.x + rng.normal(scale=1e-5, size=self.x.shape).astype(np.float32)
        result = self.compare(actual, "--format", "json")
        self.assertEqual(result.status, 1)
        report = json.loads(result.stdout)
        a, e = actual.astype(np.float64), self.x.astype(np.float64)
        self.assertEqual(report["mismatched"], int((~np.isclose(a, e)).sum()))
        error = np.abs(a - e)
        self.assertAlmostEqual(report["max_abs_error"]["value"], error.max(), delta=1e-15)
        self.assertEqual(tuple(report["max_abs_error"]["index"]),
                         np.unravel_index(error.argmax(), error.shape))
        first = list(zip(*np.nonzero(~np.isclose(a, e))))[:10]
        self.assertEqual([tuple(m["index"]) for m in report["mismatches"]], first)

    def test_fortran_order_against_c_order(self):
        np.save(self.path("f.npy"), np.asfortranarray(self.x))
        self.assertEqual(self.bnorm("compare", "f.npy", "x.npy").status, 0)
        changed = np.asfortranarray(self.x.copy())
        changed[1, 2, 3] += 1
        np.save(self.path("f.npy"), changed)
        result = self.bnorm("compare", "f.npy", "x.npy", "--format", "json")
        self.assertEqual(json.loads(result.stdout)["mismatches"][0]["index"], [1, 2, 3])

    def test_shape_mismatch(self):
        result = self.compare(self.x.reshape(4, 15))
        self.assertEqual(result.status, 1)
        self.assertIn(b"differ in shape: (4, 15) vs (4, 3, 5)", result.stdout)

    def test_dtype_mismatch(self):
        result = self.compare(self.x.astype(np.float64))
        self.assertEqual(result.status, 1)
        self.assertIn(b"dtypes differ: float64 vs float32", result.stdout)

    def test_nan(self):
        with_nan = self.x.copy()
        with_nan[0, 0, 0] = np.nan
        np.save(self.path("x.npy"), with_nan)
        self.assertEqual(self.compare(with_nan).status, 1)
        self.assertEqual(self.compare(with_nan, "--equal-nan").status, 0)

    def test_ulp(self):
        next_up = np.nextafter(self.x, np.float32(np.inf))
        self.assertEqual(self.compare(next_up, "--ulp", "1").status, 0)
        self.assertEqual(self.compare(next_up, "--ulp", "0").status, 1)
        two_up = np.nextafter(next_up, np.float32(np.inf))
        self.assertEqual(self.compare(two_up, "--ulp", "1").status, 1)

    def test_json_tensor_against_npy(self):
        self.path("a.json").write_text(json.dumps(self.x.astype(np.float64).tolist()))
        self.assertEqual(self.bnorm("compare", "a.json", "x.npy").status, 0)

    def test_statistics_files(self):
        self.assertEqual(self.bnorm("apply", "x.npy", "-o", "y.npy", "--stats-out", "s1.json").status, 0)
        self.assertEqual(self.bnorm("apply", "x.npy", "-o", "y.npy", "--stats-out", "s2.json").status, 0)
        self.assertEqual(self.bnorm("compare", "s1.json", "s2.json").status, 0)
        stats = json.loads(self.path("s2.json").read_text())
        stats["running_var"][1] *= 1.001
        stats["num_batches_tracked"] = 2
        del stats["mean"]
        self.path("s2.json").write_text(json.dumps(stats))
        result = self.bnorm("compare", "s1.json", "s2.json")
        self.assertEqual(result.status, 1)
        text = result.stdout.decode()
        self.assertIn("running_var[1]:", text)
        self.assertIn("num_batches_tracked: 1 != 2 (integers compare exactly)", text)
        self.assertIn("mean: unexpected key", text)
        result = self.bnorm("compare", "s2.json", "s1.json", "--format", "json")
        paths = [d["path"] for d in json.loads(result.stdout)["differences"]]
        self.assertEqual(sorted(paths), ["mean", "num_batches_tracked", "running_var[1]"])

    def test_golden_with_fewer_keys(self):
        self.assertEqual(self.bnorm("apply", "x.npy", "-o", "y.npy", "--stats-out", "s.json").status, 0)
        stats = json.loads(self.path("s.json").read_text())
        golden = {"running_mean": stats["running_mean"], "num_batches_tracked": 1}
        self.path("golden.json").write_text(json.dumps(golden))
        self.assertEqual(self.bnorm("compare", "s.json", "golden.json").status, 1)
        self.assertEqual(self.bnorm("compare", "s.json", "golden.json", "--ignore-extra-keys").status, 0)
        golden["num_batches_tracked"] = 3
        self.path("golden.json").write_text(json.dumps(golden))
        self.assertEqual(self.bnorm("compare", "s.json", "golden.json", "--ignore-extra-keys").status, 1)

    def test_errors(self):
        self.path("s.json").write_text("{}")
        self.assertFailsWith(self.bnorm("compare", "x.npy", "s.json"), 2, "statistics/state")
        self.assertFailsWith(self.bnorm("compare", "x.npy", "x.npy", "--rtol", "-1"), 2, "--rtol")
        self.assertFailsWith(self.bnorm("compare", "x.npy", "gone.npy"), 4, "gone.npy")
        self.path("bad.npy").write_bytes(b"nope")
        self.assertFailsWith(self.bnorm("compare", "bad.npy", "x.npy"), 3, "bad.npy")


class Convert(ScratchTestCase):
    def test_npy_json_npy_is_exact(self):
        x = np.random.default_rng(41).normal(size=(3, 4, 2)).astype(np.float32)
        np.save(self.path("x.npy"), x)
        self.assertEqual(self.bnorm("convert", "x.npy", "x.json").status, 0)
        self.assertEqual(self.bnorm("convert", "x.json", "y.npy", "--dtype", "float32").status, 0)
        self.assertEqual(self.path("y.npy").read_bytes(), self.path("x.npy").read_bytes())
        np.testing.assert_array_equal(np.array(json.loads(self.path("x.json").read_text()),
                                               dtype=np.float32), x)

    def test_dtype_rounding_matches_numpy(self):
        x = np.random.default_rng(42).normal(scale=100, size=(50, 20))
        np.save(self.path("x.npy"), x)
        for name in ["float16", "float32"]:
            with self.subTest(dtype=name):
                self.assertEqual(self.bnorm("convert", "x.npy", "y.npy", "--dtype", name).status, 0)
                y = np.load(self.path("y.npy"))
                self.assertEqual(y.dtype, np.dtype(name))
                np.testing.assert_array_equal(y, x.astype(name))

    def test_fortran_order_to_json_is_c_nesting(self):
        x = np.asfortranarray(np.arange(6, dtype=np.float64).reshape(2, 3))
        np.save(self.path("f.npy"), x)
        self.assertEqual(self.bnorm("convert", "f.npy", "-", "--output-format", "json").stdout,
                         b"[[0, 1, 2],\n [3, 4, 5]]\n")

    def test_errors(self):
        self.assertFailsWith(self.bnorm("convert", "samples/batch.npy", "y.npy", "--dtype", "int8"),
                             2, "--dtype")
        self.assertFailsWith(self.bnorm("convert", "nothing.npy", "y.npy"), 4, "nothing.npy")


if __name__ == "__main__":
    unittest.main()
