#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""`stats` over many files: the pooled and per-sample statistics of a dataset equal NumPy's
(float64) over the concatenation of its files, for every layout, dtype and format; the bytes
do not depend on the order the files are named in nor on --threads; `merge` of partials gives
the same bytes in any order.  BNORM_LARGE_GRID=1 runs more and larger files."""
import csv as csv_module
import io
import itertools
import json
import math
import os
import random
import unittest

import numpy as np

from cli_support import ScratchTestCase, write_safetensors

LARGE = os.environ.get("BNORM_LARGE_GRID") == "1"
FILES = 9 if LARGE else 4

# name: (shape of a file of `n` samples, --axis, the channel axis of that shape)
LAYOUTS = {
    "channels-first": (lambda n: (n, 3, 4, 5), None, 1),
    "channels-last": (lambda n: (n, 4, 5, 3), "-1", 3),
    "rank-3": (lambda n: (n, 3, 7), None, 1),
    "channel-axis-0": (lambda n: (3, n, 4), "0", 0),
    "fortran": (lambda n: (n, 3, 4, 5), None, 1),
}
SAFETENSORS_DTYPES = {"float16": "F16", "float32": "F32", "float64": "F64", "int32": "I32",
                      "bool": "BOOL", "bfloat16": "BF16"}
# (format, dtype): the formats that hold each dtype.
CASES = [("npy", "float16"), ("npy", "float32"), ("npy", "float64"), ("npy", "int32"),
         ("npy", "bool"), ("npz", "float32"), ("json", "float64"),
         ("safetensors", "bfloat16"), ("safetensors", "float32"), ("safetensors", "int32")]


def make_values(rng, shape, dtype):
    """The file's values, and the same values as float64 (the reference's)."""
    if dtype == "bool":
        x = rng.random(shape) < 0.3
        return x, x.astype(np.float64)
    if dtype == "int32":
        x = rng.integers(-50, 200, size=shape).astype(np.int32)
        return x, x.astype(np.float64)
    if dtype == "bfloat16":
        bits = (rng.normal(3.0, 2.0, size=shape).astype(np.float32).view(np.uint32) >> 16)
        bits = bits.astype(np.uint16)
        return bits, (bits.astype(np.uint32) << 16).view(np.float32).astype(np.float64)
    x = rng.normal(3.0, 2.0, size=shape).astype(dtype)
    return x, x.astype(np.float64)


def reference(arrays, axis, per_sample):
    """NumPy's statistics of the dataset `arrays` (float64) with channel axis `axis`."""
    c = arrays[0].shape[axis]
    per_channel = [np.concatenate([np.moveaxis(a, axis, 0).reshape(c, -1) for a in arrays],
                                  axis=1)]
    whole = per_channel[0]
    if not per_sample:
        return {"mean": whole.mean(axis=1), "var": whole.var(axis=1),
                "var_unbiased": whole.var(axis=1, ddof=1), "std": whole.std(axis=1),
                "min": whole.min(axis=1), "max": whole.max(axis=1)}
    samples = []
    for a in arrays:
        if axis == 0:
            samples.append(a.reshape(c, -1))
        else:
            samples.extend(np.moveaxis(s, axis - 1, 0).reshape(c, -1) for s in a)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {"samples": len(samples),
                "mean": np.mean([s.mean(axis=1) for s in samples], axis=0),
                "std": np.mean([s.std(axis=1) for s in samples], axis=0),
                "std_unbiased": np.mean([s.std(axis=1, ddof=1) for s in samples], axis=0)}


class DatasetStatistics(ScratchTestCase):
    def write_dataset(self, folder, layout, fmt, dtype, seed):
        """Files of different batch sizes; returns their values as float64 and the flags."""
        shape_of, axis_flag, _ = LAYOUTS[layout]
        rng = np.random.default_rng(seed)
        os.mkdir(self.path(folder))
        arrays = []
        for i in range(FILES):
            x, reference_values = make_values(rng, shape_of(1 + i % 3 + (i * 5) % 4), dtype)
            arrays.append(reference_values)
            name = self.path(f"{folder}/f{i:02}.{fmt}")
            if fmt == "npy":
                np.save(name, np.asfortranarray(x) if layout == "fortran" else x)
            elif fmt == "npz":
                np.savez(name, x=x)
            elif fmt == "json":
                name.write_text(json.dumps(x.tolist()))
            else:
                raw = np.ascontiguousarray(x).astype(x.dtype.newbyteorder("<")).tobytes()
                write_safetensors(name, {"x": (SAFETENSORS_DTYPES[dtype], x.shape, raw)})
        flags = ["--axis", axis_flag] if axis_flag else []
        if fmt in ("npz", "safetensors"):
            flags += ["--tensor", "x"]
        return arrays, flags

    def stats(self, *args):
        result = self.bnorm("stats", *args, "--format", "json")
        self.assertEqual(result.status, 0, result)
        return json.loads(result.stdout)

    def test_pooled_and_per_sample_equal_numpy_over_the_concatenation(self):
        for (layout, (_, _, axis)), (fmt, dtype) in itertools.product(LAYOUTS.items(), CASES):
            if layout == "fortran" and fmt != "npy":
                continue  # only .npy says a tensor is in Fortran order
            folder = f"{layout}-{fmt}-{dtype}"
            with self.subTest(layout=layout, format=fmt, dtype=dtype):
                arrays, flags = self.write_dataset(folder, layout, fmt, dtype, len(folder))
                pooled = self.stats(folder, *flags)
                expected = reference(arrays, axis, False)
                self.assertEqual(pooled["files"], FILES)
                self.assertEqual(pooled["estimator"], "pooled")
                self.assertEqual(pooled["count"], sum(a.size for a in arrays) // 3)
                # Both sides sum in double; the moments are computed without cancellation, so
                # they agree to a few ulps of the values' scale.
                for key, values in expected.items():
                    np.testing.assert_allclose(pooled[key], values, rtol=1e-12, atol=1e-12,
                                               err_msg=key)
                per_sample = self.stats(folder, *flags, "--per-sample")
                expected = reference(arrays, axis, True)
                self.assertEqual(per_sample["estimator"], "per_sample")
                self.assertEqual(per_sample["samples"], expected.pop("samples"))
                self.assertNotIn("var", per_sample)
                for key, values in expected.items():
                    actual = np.array([np.nan if v is None else v for v in per_sample[key]],
                                      dtype=np.float64)
                    np.testing.assert_allclose(actual, values, rtol=1e-12, atol=1e-12,
                                               err_msg=key)

    def test_a_million_samples_keep_their_digits(self):
        # Each row of a (10^6, 2) float64 table is a sample; summed naively, the 10^6 sample
        # means around 1e8 would lose about 1e-5 of the mean (10^3 ulps).
        x = 1e8 + np.random.default_rng(4).random((10**6 if not LARGE else 4 * 10**6, 2))
        np.save(self.path("rows.npy"), x)
        doc = self.stats("rows.npy", "--per-sample")
        self.assertEqual(doc["samples"], len(x))
        for c in range(2):
            exact = math.fsum(x[:, c]) / len(x)  # within an ulp of the exact mean
            self.assertLessEqual(abs(doc["mean"][c] - exact), 2 * np.spacing(exact), c)

    def test_fortran_order_with_more_samples_than_a_block(self):
        # 30,000 samples of 3 channels: more than bnorm measures at once in Fortran order
        # (2^16 sample-channels), so the samples are read block by block.
        x = np.asfortranarray(np.random.default_rng(9).normal(5, 2, (30000, 3, 2)))
        np.save(self.path("fortran.npy"), x)
        doc = self.stats("fortran.npy", "--per-sample")
        expected = reference([x], 1, True)
        self.assertEqual(doc["samples"], 30000)
        for key in ("mean", "std", "std_unbiased"):
            np.testing.assert_allclose(doc[key], expected[key], rtol=1e-12, err_msg=key)

    def test_normalize_prints_the_float32_mean_and_std(self):
        arrays, flags = self.write_dataset("d", "channels-first", "npy", "float32", 5)
        result = self.bnorm("stats", "d", "--format", "normalize")
        self.assertEqual(result.status, 0, result)
        expected = reference(arrays, 1, False)
        # NumPy's str of a float32 is its shortest round-trip text (for these magnitudes,
        # without an exponent), as is bnorm's.
        self.assertEqual(result.stdout.decode(), "mean=[%s], std=[%s]\n" % (
            ", ".join(str(np.float32(v)) for v in expected["mean"]),
            ", ".join(str(np.float32(v)) for v in expected["std"])))

    def test_the_bytes_depend_neither_on_order_nor_on_threads(self):
        rng = np.random.default_rng(3)
        names = []
        for i in range(12 if not LARGE else 60):
            # Large offsets and different sizes make the combination's rounding visible.
            x = (rng.normal(1e4 * (i % 5), 1.0 + i, size=(1 + i % 4, 3, 8, 8))).astype(np.float32)
            names.append(f"b{i:02}.npy")
            np.save(self.path(names[-1]), x)
        for extra in (["--format", "json"], ["--partial"], ["--per-sample"], ["--format", "csv"]):
            outputs = set()
            shuffled = list(names)
            for seed, threads in itertools.product(range(3), ["1", "2", "3"]):
                random.Random(seed).shuffle(shuffled)
                result = self.bnorm("stats", *shuffled, "-j", threads, *extra)
                self.assertEqual(result.status, 0, result)
                outputs.add(result.stdout)
            self.path("list").write_text("\n".join(reversed(names)) + "\n")
            result = self.bnorm("stats", "--files-from", "list", *extra)
            outputs.add(result.stdout)
            self.path("list0").write_bytes(b"\0".join(n.encode() for n in names))
            result = self.bnorm("stats", "--files-from", "list0", "-0", *extra)
            outputs.add(result.stdout)
            self.assertEqual(len(outputs), 1, extra)

    def test_one_file_reports_as_before(self):
        x = np.random.default_rng(1).normal(size=(4, 3, 2)).astype(np.float32)
        np.save(self.path("x.npy"), x)
        doc = self.stats("x.npy")
        self.assertEqual(doc["file"], "x.npy")
        self.assertEqual(doc["shape"], [4, 3, 2])
        self.assertNotIn("files", doc)
        self.assertNotIn("estimator", doc)


class ChannelNames(ScratchTestCase):
    """A table's header names the channels of the last axis in every report."""

    def setUp(self):
        super().setUp()
        formats = [line for line in self.bnorm("stats", "--help").stdout.decode().splitlines()
                   if "--input-format" in line]
        if not formats or "csv" not in formats[0]:
            self.skipTest("no CSV codec in this build")
        self.path("a.csv").write_text("height,weight\n1.5,60\n1.75,80\n")
        self.path("b.csv").write_text("height,weight\n2,70\n")

    def test_names_label_json_csv_and_table(self):
        for inputs in (["a.csv"], ["a.csv", "b.csv"]):
            with self.subTest(inputs=inputs):
                doc = json.loads(self.bnorm("stats", *inputs, "--format", "json").stdout)
                self.assertEqual(doc["channel_names"], ["height", "weight"])
                values = np.array([[1.5, 60], [1.75, 80], [2, 70]])[: 2 if len(inputs) == 1 else 3]
                np.testing.assert_allclose(doc["mean"], values.mean(axis=0), rtol=1e-15)
                csv = self.bnorm("stats", *inputs, "--format", "csv").stdout.decode()
                self.assertEqual([line.split(",")[0] for line in csv.splitlines()[1:]],
                                 ["height", "weight", "all"])
                table = self.bnorm("stats", *inputs, "--format", "table").stdout.decode()
                self.assertRegex(table, r"\n +height +1\.[67]")
        doc = json.loads(self.bnorm("stats", "a.csv", "--channels", "1", "--format", "json").stdout)
        self.assertEqual(doc["channel_names"], ["weight"])

    def test_names_that_need_quotes_read_back_as_themselves(self):
        # A name holding the separator, a quote, a space at an end or a control byte: the CSV
        # report quotes it as RFC 4180 does (Python's csv module reads it back), and the table
        # shows control bytes as \xNN, each row still one line.
        names = ["a,b", 'say "hi"', " padded ", "tab\there", "x" * 100]
        with open(self.path("q.csv"), "w", newline="") as f:
            writer = csv_module.writer(f)
            writer.writerow(names)
            writer.writerow([1, 2, 3, 4, 5])
            writer.writerow([3, 4, 5, 6, 7])
        report = self.bnorm("stats", "q.csv", "--format", "csv").stdout.decode()
        rows = list(csv_module.reader(io.StringIO(report)))
        self.assertEqual([row[0] for row in rows[1:]], names + ["all"])
        table = self.bnorm("stats", "q.csv", "--format", "table").stdout.decode()
        lines = table.splitlines()
        self.assertEqual(len(lines), 1 + 1 + len(names) + 1 + 1)
        self.assertIn("tab\\x09here", table)
        self.assertIn("x" * 40 + "...", table)
        self.assertNotIn("x" * 41, table)


class MergeOrder(ScratchTestCase):
    def test_merge_gives_the_same_bytes_in_any_order(self):
        rng = np.random.default_rng(8)
        names = []
        for i in range(8):
            x = rng.normal(100.0 * i, 1.0 + 3 * i, size=(1 + i, 3, 5)).astype(np.float32)
            np.save(self.path(f"s{i}.npy"), x)
            result = self.bnorm("stats", f"s{i}.npy", "--partial")
            self.assertEqual(result.status, 0, result)
            names.append(f"p{i}.json")
            self.path(names[-1]).write_bytes(result.stdout)
        outputs = set()
        for seed in range(6):
            random.Random(seed).shuffle(names)
            result = self.bnorm("merge", *names, "-o", "-")
            self.assertEqual(result.status, 0, result)
            outputs.add(result.stdout)
        os.mkdir(self.path("parts"))
        for name in names:
            os.rename(self.path(name), self.path(f"parts/{name}"))
        outputs.add(self.bnorm("merge", "parts", "-o", "-").stdout)
        self.assertEqual(len(outputs), 1)
        merged = json.loads(outputs.pop())
        whole = np.concatenate([np.load(self.path(f"s{i}.npy")) for i in range(8)]).astype(
            np.float64)
        np.testing.assert_allclose(merged["mean"], whole.mean(axis=(0, 2)), rtol=1e-13)
        np.testing.assert_allclose(merged["var"], whole.var(axis=(0, 2)), rtol=1e-12)


if __name__ == "__main__":
    unittest.main()
