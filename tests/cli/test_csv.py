# SPDX-License-Identifier: Apache-2.0
"""CSV and TSV tables against the reference: Python's csv module and float() parse the text,
NumPy computes the statistics, torch the normalization.  BNORM_LARGE_GRID=1 runs larger
tables and more spellings."""
import csv
import decimal
import io
import json
import math
import os
import random
import subprocess
import sys
import time
import unittest

import numpy as np
import torch

from cli_support import BNORM, ScratchTestCase, run

LARGE = os.environ.get("BNORM_LARGE_GRID") == "1"


def python_reads(text):
    """What a table's number is, as the reference reads it: float() of the ASCII spellings
    without underscores (the ones bnorm documents); None for a field that is no number."""
    if "_" in text or not text.isascii() or "(" in text:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def same_float(a, b):
    return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))


def reference_table(text, delimiter=","):
    """The header (or None) and the values of a table, by the csv module and float()."""
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True))
    header = None
    if any(python_reads(f) is None for f in rows[0]):
        header, rows = rows[0], rows[1:]
    return header, np.array([[float(f) for f in row] for row in rows], dtype=np.float64)


def write_table(rng, rows, columns, delimiter=",", line_end="\n", header=True, quote_every=0):
    """A table's text with values of every magnitude, spelled as writers spell them."""
    spellings = [repr, lambda v: "%.17g" % v, lambda v: "%.6e" % v, lambda v: "%.3f" % v,
                 lambda v: "%g" % v]
    out = io.StringIO()
    if header:
        names = [f"col {j}" for j in range(columns)]
        names[0] = 'a "quoted", name'
        if columns > 1:
            names[1] = "two\nlines"
        out.write(delimiter.join('"' + n.replace('"', '""') + '"' for n in names) + line_end)
    cell = 0
    for _ in range(rows):
        fields = []
        for _ in range(columns):
            value = rng.choice([rng.gauss(0, 1), rng.gauss(0, 1) * 10 ** rng.randint(-30, 30),
                                float(rng.randint(-1000, 1000))])
            text = rng.choice(spellings)(value)
            cell += 1
            if quote_every and cell % quote_every == 0:
                text = '"' + text + '"'
            fields.append(text)
        out.write(delimiter.join(fields) + line_end)
    return out.getvalue()


class NumbersTest(ScratchTestCase):
    """Every spelling is read as float() reads it, or refused with the field's place."""

    SPELLINGS = ["1", "-1", "+1", "1.", ".5", "-.5", "+.5", "1e5", "1E-5", "1e+05", " 2 ", "\t3",
                 "inf", "-Infinity", "+INF", "NaN", "nan", "-nan", "+nan", "1e400", "-1e400",
                 "1e-400", "4.9e-324", "2.2250738585072014e-308", "1.7976931348623157e308",
                 "0.1", "-0.0", "0x10", "1_000", "1e", "e1", ".", "+-1", "--1", "nan(1)",
                 "infinit", "infinityy", "1.5.2", "1 2", "\u0661", "1e5.0", "1.e3", "00012",
                 "12345678901234567890123", "0.30000000000000004", "+", "-", "inf inity"]

    def check(self, text):
        expected = python_reads(text.strip(" \t"))
        self.path("t.csv").write_text("x\n" + ('"%s"' % text if "\t" in text else text) + "\n",
                                      encoding="utf-8")
        result = self.bnorm("convert", "t.csv", "t.npy")
        if expected is None:
            self.assertFailsWith(result, 3, "t.csv: line 2, column 1: ", "is not a number")
        else:
            self.assertEqual(result.status, 0, (text, result))
            got = float(np.load(self.path("t.npy"))[0, 0])
            self.assertTrue(same_float(got, expected), (text, got, expected))

    def test_spellings(self):
        for text in self.SPELLINGS:
            with self.subTest(text=text):
                self.check(text)

    def test_random_values_read_exactly(self):
        rng = random.Random(15)
        values = [rng.gauss(0, 1) * 10 ** rng.randint(-300, 300) for _ in range(2000 if LARGE else 300)]
        values += [5e-324, 2.2250738585072009e-308, 1.7976931348623157e308, 0.1, 1 / 3]
        formats = [repr, lambda v: "%.17g" % v, lambda v: "%.20e" % v, lambda v: "%.3g" % v]
        texts = [rng.choice(formats)(v) for v in values]
        self.path("t.csv").write_text("x\n" + "\n".join(texts) + "\n")
        result = self.bnorm("convert", "t.csv", "t.npy")
        self.assertEqual(result.status, 0, result)
        got = np.load(self.path("t.npy"))[:, 0]
        expected = np.array([float(t) for t in texts])
        np.testing.assert_array_equal(got, expected)


class TableTest(ScratchTestCase):
    """Whole tables, every dialect: the values NumPy has of the csv module's parse."""

    def convert_and_compare(self, text, name, delimiter, extra=()):
        self.path(name).write_bytes(text.encode("utf-8"))
        result = self.bnorm("convert", name, "t.npy", *extra)
        self.assertEqual(result.status, 0, result)
        header, expected = reference_table(text, delimiter)
        got = np.load(self.path("t.npy"))
        self.assertEqual(got.dtype, np.float64)
        np.testing.assert_array_equal(got, expected)
        return header, expected

    def test_dialect_grid(self):
        rng = random.Random(4180)
        for delimiter, name in ((",", "t.csv"), ("\t", "t.tsv"), ("\t", "t.tab")):
            for line_end in ("\n", "\r\n"):
                for header in (True, False):
                    for quote_every in (0, 3):
                        for columns in (1, 2, 5):
                            with self.subTest(name=name, line_end=line_end, header=header,
                                              quote_every=quote_every, columns=columns):
                                text = write_table(rng, 40, columns, delimiter, line_end, header,
                                                   quote_every)
                                if rng.random() < 0.5:  # the last line end is optional
                                    text = text[: -len(line_end)]
                                self.convert_and_compare(text, name, delimiter)

    def test_statistics_equal_numpy(self):
        rng = random.Random(7)
        text = write_table(rng, 500, 6, quote_every=5)
        self.path("t.csv").write_text(text)
        result = self.bnorm("stats", "t.csv", "--format", "json")
        self.assertEqual(result.status, 0, result)
        stats = json.loads(result.stdout)
        _, x = reference_table(text)
        self.assertEqual(stats["shape"], [500, 6])
        self.assertEqual(stats["axis"], 1)
        # Values spread over 60 decades: the pooled moments are compared in units of the
        # largest magnitude, which float64 sums carry to ~1e-13.
        scale = np.abs(x).max(axis=0)
        np.testing.assert_allclose(np.array(stats["mean"]) / scale, x.mean(axis=0) / scale,
                                   rtol=0, atol=1e-13)
        np.testing.assert_allclose(np.sqrt(np.array(stats["var"])) / scale, x.std(axis=0) / scale,
                                   rtol=0, atol=1e-12)
        np.testing.assert_array_equal(stats["min"], x.min(axis=0))
        np.testing.assert_array_equal(stats["max"], x.max(axis=0))

    def test_large_table_read_in_parallel_from_checkpoints(self):
        # Over 2^20 values: the passes read in parallel groups, each from the checkpoint
        # before its first row; quoted numbers and a two-line name move every offset.
        rng = random.Random(20)
        rows = 400_000 if LARGE else 150_000
        text = write_table(rng, rows, 7, quote_every=11)
        self.path("t.csv").write_text(text)
        header, x = reference_table(text)
        result = self.bnorm("convert", "t.csv", "t.npy")
        self.assertEqual(result.status, 0, result)
        np.testing.assert_array_equal(np.load(self.path("t.npy")), x)
        result = self.bnorm("stats", "t.csv", "--format", "json")
        stats = json.loads(result.stdout)
        np.testing.assert_array_equal(stats["min"], x.min(axis=0))
        np.testing.assert_array_equal(stats["max"], x.max(axis=0))

    def test_large_unquoted_table_scanned_in_parts(self):
        # Over 8 MiB below the header and no quote there: the pass at open scans parts of the
        # body on several threads; the values, and the line a fault is reported at, are
        # those of one scan (the header's two-line name shifts every line).
        rng = random.Random(21)
        rows = 400_000 if LARGE else 120_000
        body = write_table(rng, rows, 8, header=False)
        header = '"a\nb",' + ",".join(f"c{j}" for j in range(1, 8)) + "\n"
        self.path("t.csv").write_text(header + body)
        self.assertGreater(len(body), 8 << 20)
        _, x = reference_table(header + body)
        result = self.bnorm("convert", "t.csv", "t.npy")
        self.assertEqual(result.status, 0, result)
        np.testing.assert_array_equal(np.load(self.path("t.npy")), x)
        lines = body.split("\n")
        for bad_row in (5, rows // 2 + 17, rows - 3):
            with self.subTest(bad_row=bad_row):
                broken = list(lines)
                fields = broken[bad_row].split(",")
                fields[3] = "x"
                broken[bad_row] = ",".join(fields)
                if bad_row > 5:  # a later fault in another part is not the one reported
                    broken[rows - 2] = "1,2"
                self.path("t.csv").write_text(header + "\n".join(broken))
                column = len(",".join(fields[:3])) + 2
                self.assertFailsWith(self.bnorm("stats", "t.csv"), 3,
                                     f"t.csv: line {bad_row + 3}, column {column}: 'x' (column 4)"
                                     " is not a number")
        # A ragged row late in the body, alone.
        broken = list(lines)
        broken[rows - 2] = "1,2"
        self.path("t.csv").write_text(header + "\n".join(broken))
        self.assertFailsWith(self.bnorm("stats", "t.csv"), 3,
                             f"t.csv: line {rows + 1}: 2 fields, where the first row has 8")

    def test_file_shrinking_while_read_is_an_error_not_a_crash(self):
        # A part of the parallel scan whose read failed threw out of its thread (and the main
        # thread's part out past its joinable peers): the process aborted.
        text = "a,b\n" + "".join(f"{i},{i}\n" for i in range(1_500_000))
        self.assertGreater(len(text), 16 << 20)
        for delay in (0.0, 0.01, 0.02, 0.04, 0.08, 0.16, 0.3):
            with self.subTest(delay=delay):
                self.path("t.csv").write_text(text)
                process = subprocess.Popen([BNORM, "stats", "t.csv"], cwd=self.path("."),
                                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                time.sleep(delay)
                os.truncate(self.path("t.csv"), 1 << 20)
                _, stderr = process.communicate(timeout=60)
                self.assertIn(process.returncode, (0, 3, 4), stderr)
                if process.returncode:
                    self.assertEqual(len(stderr.splitlines()), 1, stderr)
                    self.assertTrue(stderr.startswith(b"bnorm: error: t.csv: "), stderr)

    def test_standard_input(self):
        text = write_table(random.Random(3), 30, 3, line_end="\r\n")
        result = self.bnorm("convert", "-", "t.npy", "--input-format", "csv",
                            stdin=text.encode())
        self.assertEqual(result.status, 0, result)
        np.testing.assert_array_equal(np.load(self.path("t.npy")), reference_table(text)[1])

    def test_stream_read_up_to_its_first_nul(self):
        # A stream is read whole before its scan; /dev/zero was read until memory ran out.
        for fmt in ("csv", "tsv"):
            with self.subTest(fmt=fmt):
                self.assertFailsWith(run(["stats", "/dev/zero", "--input-format", fmt],
                                         timeout=20), 3,
                                     "/dev/zero: line 1, column 1: a NUL byte")
        # What follows the NUL is not read, and an earlier fault is still the one told, as in
        # the same bytes from a file.
        for text in (b"a,b\n1,2\n3,\x00,\n" + b"\x00" * 100_000, b"a,b\n1,2\nx,1\n\x00\n"):
            with self.subTest(text=text[:20]):
                self.path("t.csv").write_bytes(text)
                from_file = self.bnorm("stats", "t.csv")
                from_pipe = self.bnorm("stats", "-", "--input-format", "csv", stdin=text)
                self.assertEqual(from_file.status, 3)
                self.assertEqual(from_pipe.status, 3)
                self.assertEqual(from_pipe.stderr.replace("<stdin>", "t.csv"), from_file.stderr)

    def test_missing_as_nan(self):
        text = "a,b,c\n1,,3\n,  ,6\n7,8,\n"
        self.path("t.csv").write_text(text)
        self.assertFailsWith(self.bnorm("convert", "t.csv", "t.npy"), 3,
                             "line 2, column 3: an empty field")
        result = self.bnorm("convert", "t.csv", "t.npy", "--missing", "nan")
        self.assertEqual(result.status, 0, result)
        rows = list(csv.reader(io.StringIO(text)))[1:]
        expected = np.array([[float(f) if f.strip() else np.nan for f in row] for row in rows])
        np.testing.assert_array_equal(np.load(self.path("t.npy")), expected)


class WideRowTest(ScratchTestCase):
    """Rows of many columns are read a chunk of fields at a time: never held whole, and not
    parsed again for each chunk of values (one row of 2M columns took 4.8 s and 244 MiB)."""

    def peak_kib(self, *args):
        """Runs bnorm in a process of its own; its peak resident memory in KiB."""
        code = ("import resource, subprocess, sys; "
                "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL); "
                "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
        out = subprocess.run([sys.executable, "-c", code, BNORM, *args],
                             cwd=self.path("."), capture_output=True, text=True, check=True)
        status, kib = map(int, out.stdout.split())
        self.assertEqual(status, 0, out.stderr)
        return kib

    def test_wide_rows_read_in_bounded_memory(self):
        rng = random.Random(2)
        columns = 2_000_000 if LARGE else 400_000
        names = [f"c{j}" for j in range(columns)]
        names[5000] = 'a "quoted", name'
        rows = []
        for r in range(3):
            row = [repr(rng.uniform(-1e6, 1e6)) for _ in range(columns)]
            for j in range(r, columns, 4099):  # quoted values and empty ones, across chunks
                row[j] = '"' + row[j] + '"' if j % 2 else ""
            rows.append(row)
        rows[-1][-1] = ""  # the file ends in a separator: an empty last field
        body = "\n".join(",".join(row) for row in rows)
        # Without a header, what is held is the rows' text in blocks, whatever their width.
        self.path("t.csv").write_text(body)
        kib = self.peak_kib("convert", "t.csv", "t.npy", "--missing", "nan")
        parsed = list(csv.reader(io.StringIO(body, newline=""), strict=True))
        expected = np.array([[float(f) if f else np.nan for f in row] for row in parsed])
        np.testing.assert_array_equal(np.load(self.path("t.npy")), expected)
        # AddressSanitizer's shadow memory and quarantine add about 120 MiB to any run's peak:
        # the bound is the Release build's (the sanitizers check the same run for bad reads).
        if os.environ.get("BNORM_SANITIZED") != "1":
            self.assertLess(kib, 24 << 10, "peak memory of a wide table's convert")
        # With a header, its names come back in apply's output, through every chunk.
        text = ",".join('"' + n.replace('"', '""') + '"' for n in names) + "\n" + body
        self.path("t.csv").write_text(text)
        self.assertEqual(list(csv.reader(io.StringIO(text, newline=""), strict=True))[0], names)
        result = self.bnorm("convert", "t.csv", "t.npy", "--missing", "nan")
        self.assertEqual(result.status, 0, result)
        np.testing.assert_array_equal(np.load(self.path("t.npy")), expected)
        result = self.bnorm("apply", "t.csv", "-o", "n.csv", "--missing", "nan")
        self.assertEqual(result.status, 0, result)
        with open(self.path("n.csv"), newline="") as f:
            self.assertEqual(next(csv.reader(f, strict=True)), names)

    def test_wide_row_faults_at_their_column(self):
        columns = 20_000
        row = ["1"] * columns
        for bad in (0, 4095, 4096, 4097, columns - 1):
            with self.subTest(bad=bad):
                broken = list(row)
                broken[bad] = "x"
                self.path("t.csv").write_text(",".join(row) + "\n" + ",".join(broken) + "\n")
                self.assertFailsWith(self.bnorm("stats", "t.csv"), 3,
                                     f"t.csv: line 2, column {2 * bad + 1}: 'x' (column {bad + 1})"
                                     " is not a number")
                # A row with another number of fields is told as such, before its values.
                self.path("t.csv").write_text(",".join(row) + "\n" + ",".join(broken) + ",1\n")
                self.assertFailsWith(self.bnorm("stats", "t.csv"), 3,
                                     f"t.csv: line 2: {columns + 1} fields, where the first row"
                                     f" has {columns}")


class WriteTest(ScratchTestCase):
    """Tables written: the header kept, every value the shortest text that reads back."""

    def read_back(self, name, delimiter=","):
        with open(self.path(name), newline="") as f:
            return list(csv.reader(f, delimiter=delimiter, strict=True))

    def assertShortest(self, text, value, to_float):
        """`text` reads back to `value` and has the significant digits of repr's."""
        self.assertEqual(to_float(float(text)), value, text)
        shortest = repr(to_float(float(text)))
        self.assertEqual(decimal.Decimal(text).normalize(), decimal.Decimal(shortest).normalize(),
                         (text, shortest))

    def test_round_trip_through_apply(self):
        rng = random.Random(11)
        text = write_table(rng, 64, 4, quote_every=7)
        self.path("x.csv").write_text(text)
        result = self.bnorm("apply", "x.csv", "-o", "y.csv")
        self.assertEqual(result.status, 0, result)
        header, x = reference_table(text)
        rows = self.read_back("y.csv")
        self.assertEqual(rows[0], header)
        self.assertTrue(self.path("y.csv").read_bytes().endswith(b"\n"))
        self.assertNotIn(b"\r", self.path("y.csv").read_bytes())
        bn = torch.nn.BatchNorm1d(4, dtype=torch.float64)
        expected = bn(torch.from_numpy(x)).detach().numpy()
        got = np.array([[float(f) for f in row] for row in rows[1:]])
        scale = np.abs(expected).max()
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12 * scale)
        for row in rows[1:]:
            for f in row:
                self.assertShortest(f, float(f), float)
        # Read again, the written table is the same tensor.
        self.assertEqual(self.bnorm("convert", "y.csv", "y.npy").status, 0)
        np.testing.assert_array_equal(np.load(self.path("y.npy")), got)

    def test_float32_and_fortran_order(self):
        rng = np.random.default_rng(2)
        x = (rng.standard_normal((9, 5)) * 10.0 ** rng.integers(-8, 8, (9, 5))).astype(np.float32)
        x[0, 0], x[1, 1], x[2, 2] = np.nan, np.inf, -np.inf
        for order in ("C", "F"):
            with self.subTest(order=order):
                np.save(self.path("x.npy"), np.asarray(x, order=order))
                result = self.bnorm("convert", "x.npy", "y.csv")
                self.assertEqual(result.status, 0, result)
                rows = self.read_back("y.csv")
                self.assertEqual(len(rows), 9)  # no header: the tensor has no names
                for i, row in enumerate(rows):
                    for j, f in enumerate(row):
                        if np.isnan(x[i, j]):
                            self.assertEqual(f, "nan")
                        elif np.isinf(x[i, j]):
                            self.assertEqual(f, "inf" if x[i, j] > 0 else "-inf")
                        else:
                            self.assertShortest(f, x[i, j], np.float32)

    def test_names_quoted_where_they_must_be(self):
        names = ["plain", "with,comma", 'with "quote"', "two\nlines", " spaced ", "tab\there",
                 "cr\rhere", "\u00e9t\u00e9"]
        for delimiter, name in ((",", "x.csv"), ("\t", "x.tsv")):
            with self.subTest(name=name):
                out = io.StringIO()
                csv.writer(out, delimiter=delimiter, lineterminator="\n",
                           quoting=csv.QUOTE_ALL).writerows([names, list(range(len(names)))])
                self.path(name).write_text(out.getvalue(), encoding="utf-8", newline="")
                target = "y" + name[1:]
                result = self.bnorm("convert", name, target)
                self.assertEqual(result.status, 0, result)
                rows = self.read_back(target, delimiter)
                self.assertEqual(rows[0], names)
                self.assertEqual(rows[1], [str(i) for i in range(len(names))])
                # Only names that need them are quoted.
                first = self.path(target).read_text(encoding="utf-8").split(delimiter)[0]
                self.assertEqual(first, "plain")


if __name__ == "__main__":
    unittest.main()
