#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""bnorm and NumPy read each other's files: every dtype, byte order, memory order and .npy
version NumPy writes is read correctly, and every .npy bnorm writes is the file NumPy itself
would write for the same array."""
import io
import itertools
import json
import os
import resource
import subprocess
import unittest

import numpy as np

from cli_support import BNORM, ScratchTestCase

FLOATS = ["f2", "f4", "f8"]
INTEGERS = ["i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8"]


def reference(x, axis=1, eps=1e-5):
    """Train-mode batch normalization in float64, as PyTorch defines it."""
    x = x.astype(np.float64)
    axes = tuple(d for d in range(x.ndim) if d != axis % x.ndim)
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(var + eps)


def reference_with(x, first, last, eps=1e-5):
    """Rows [first, last) of the train-mode normalization of the whole of x (channel axis 1)."""
    x64 = x.astype(np.float64)
    mean = x64.mean(axis=(0, 2, 3), keepdims=True)
    var = x64.var(axis=(0, 2, 3), keepdims=True)
    return (x64[first:last] - mean) / np.sqrt(var + eps)


def numpy_bytes(array, version=None):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, version=version)
    return buffer.getvalue()


class ReadsWhatNumPyWrites(ScratchTestCase):
    def check(self, x, name="x.npy", version=None):
        self.path(name).write_bytes(numpy_bytes(x, version))
        result = self.bnorm("apply", name, "-o", "y.npy")
        self.assertEqual(result.status, 0, result)
        y = np.load(self.path("y.npy"))
        out_type = x.dtype.newbyteorder("<") if x.dtype.kind == "f" else np.dtype("<f4")
        self.assertEqual(y.dtype, out_type)
        self.assertEqual(y.shape, x.shape)
        self.assertEqual(y.flags.f_contiguous and not y.flags.c_contiguous,
                         x.flags.f_contiguous and not x.flags.c_contiguous)
        # bnorm computes in double and rounds once to the output type.
        expected = reference(x).astype(out_type)
        tolerance = {2: 1e-3, 4: 1e-6, 8: 1e-12}[out_type.itemsize]
        np.testing.assert_allclose(y.astype(np.float64), expected.astype(np.float64),
                                   rtol=tolerance, atol=tolerance)
        return y

    def test_every_dtype_byte_order_and_memory_order(self):
        rng = np.random.default_rng(3)
        base = rng.normal(size=(6, 3, 4)) * 20
        for code, order, fortran in itertools.product(FLOATS + INTEGERS, "<>", (False, True)):
            with self.subTest(dtype=order + code, fortran=fortran):
                if code[0] == "u":
                    data = np.abs(base)
                elif code[0] == "i" or code == "f2":
                    data = np.clip(base, -100, 100)
                else:
                    data = base
                x = data.astype(order + code)
                if fortran:
                    x = np.asfortranarray(x)
                self.check(x)

    def test_bool(self):
        x = np.random.default_rng(4).random(size=(10, 3, 2)) > 0.5
        self.check(x)
        self.check(np.asfortranarray(x))

    def test_versions_2_and_3(self):
        x = np.random.default_rng(5).normal(size=(5, 3)).astype(np.float32)
        for version in [(1, 0), (2, 0), (3, 0)]:
            with self.subTest(version=version):
                self.check(x, version=version)

    def test_unsorted_keys_and_old_alignment(self):
        # NumPy before 1.14 aligned data to 16 bytes; any key order is legal.
        x = np.arange(12, dtype="<f8").reshape(4, 3)
        header = b"{'shape': (4, 3), 'fortran_order': False, 'descr': '<f8'}"
        header += b" " * (16 - (10 + len(header) + 1) % 16) + b"\n"
        self.path("x.npy").write_bytes(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") +
                                       header + x.tobytes())
        result = self.bnorm("apply", "x.npy", "-o", "y.npy")
        self.assertEqual(result.status, 0, result)
        np.testing.assert_allclose(np.load(self.path("y.npy")), reference(x), rtol=1e-12)

    def test_rank_32(self):
        # NumPy's largest rank; every channel holds two values.
        self.check(np.arange(6, dtype=np.float32).reshape((2, 3) + (1,) * 30))


class LargeInputs(ScratchTestCase):
    """Inputs of 2**20 values or more are split into groups normalized by several threads and
    written in place: every layout must still match NumPy."""

    def test_parallel_path_in_every_layout(self):
        rng = np.random.default_rng(11)
        base = rng.normal(5.0, 3.0, size=(64, 8, 48, 48)).astype(np.float32)  # 1.2M values
        cases = [("channels first", base, []),
                 ("channels last", np.ascontiguousarray(base.transpose(0, 2, 3, 1)), ["--axis", "-1"]),
                 ("Fortran order", np.asfortranarray(base), [])]
        for name, x, flags in cases:
            with self.subTest(layout=name):
                np.save(self.path("x.npy"), x)
                result = self.bnorm("apply", "x.npy", "-o", "y.npy", "--stats-out", "s.json", *flags)
                self.assertEqual(result.status, 0, result)
                axis = -1 if flags else 1
                y = np.load(self.path("y.npy"))
                np.testing.assert_allclose(y, reference(x, axis=axis), rtol=1e-5, atol=1e-5)
                stats = json.loads(self.path("s.json").read_text())
                axes = tuple(d for d in range(4) if d != axis % 4)
                np.testing.assert_allclose(stats["mean"], x.astype(np.float64).mean(axis=axes), rtol=1e-12)
                np.testing.assert_allclose(stats["var"], x.astype(np.float64).var(axis=axes), rtol=1e-12)

    @unittest.skipIf(os.environ.get("BNORM_SANITIZED") == "1",
                     "a sanitized build reserves terabytes of address space")
    def test_file_larger_than_the_memory_limit(self):
        # 128 MiB of float32 through a process allowed 48 MiB of address space in all: the
        # passes stream, so the result is NumPy's in-memory one.
        rng = np.random.default_rng(13)
        x = rng.normal(2.0, 3.0, size=(32, 8, 512, 256)).astype(np.float32)
        np.save(self.path("x.npy"), x)
        limit = 48 << 20

        def limit_memory():
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

        completed = subprocess.run([BNORM, "apply", "x.npy", "-o", "y.npy", "--stats-out", "s.json"],
                                   cwd=self.dir, capture_output=True, preexec_fn=limit_memory)
        self.assertEqual(completed.returncode, 0, completed.stderr)
        self.assertGreater(self.path("x.npy").stat().st_size, 2 * limit)
        y = np.load(self.path("y.npy"), mmap_mode="r")
        for n in range(0, 32, 8):  # compare in slices to keep the test's own memory modest
            np.testing.assert_allclose(y[n:n + 8], reference_with(x, n, n + 8), rtol=1e-5, atol=1e-5)

    def test_standard_output_is_written_in_order(self):
        x = np.random.default_rng(12).normal(size=(40, 3, 100, 100)).astype(np.float32)
        np.save(self.path("x.npy"), x)
        result = self.bnorm("apply", "x.npy", "-o", "-", "--output-format", "npy")
        self.assertEqual(result.status, 0, result)
        self.path("y.npy").write_bytes(result.stdout)
        np.testing.assert_allclose(np.load(self.path("y.npy")), reference(x), rtol=1e-5, atol=1e-5)


class WritesWhatNumPyWrites(ScratchTestCase):
    def test_header_bytes_match_numpy(self):
        cases = [
            np.random.default_rng(6).normal(size=(4, 3, 5, 5)).astype(np.float32),
            np.asfortranarray(np.random.default_rng(6).normal(size=(7, 2)).astype(np.float16)),
            np.random.default_rng(6).normal(size=(100000, 2)),  # a 6-digit growth axis
            np.arange(6, dtype=">i2").reshape(3, 2),
        ]
        for x in cases:
            with self.subTest(dtype=x.dtype.str, shape=x.shape):
                self.path("x.npy").write_bytes(numpy_bytes(x))
                result = self.bnorm("apply", "x.npy", "-o", "y.npy")
                self.assertEqual(result.status, 0, result)
                written = self.path("y.npy").read_bytes()
                y = np.load(self.path("y.npy"))
                self.assertEqual(written, numpy_bytes(y), "bnorm's file differs from np.save's")

    def test_json_output_reads_back_exactly(self):
        x = np.random.default_rng(8).normal(size=(5, 3)).astype(np.float32)
        np.save(self.path("x.npy"), x)
        self.assertEqual(self.bnorm("apply", "x.npy", "-o", "y.npy").status, 0)
        self.assertEqual(self.bnorm("apply", "x.npy", "-o", "y.json").status, 0)
        from_npy = np.load(self.path("y.npy"))
        from_json = np.array(json.loads(self.path("y.json").read_text()), dtype=np.float32)
        np.testing.assert_array_equal(from_json, from_npy)
        # Shortest text: no float32 value needs more than 9 significant digits.
        for token in self.path("y.json").read_text().replace("[", " ").replace("]", " ").replace(",", " ").split():
            self.assertLessEqual(len(token.lstrip("-").replace(".", "").split("e")[0].lstrip("0")), 9, token)

    def test_non_finite_values_round_trip_through_json(self):
        x = np.array([[1.0, np.nan], [2.0, np.inf], [3.0, -np.inf], [4.0, 0.0]])
        np.save(self.path("x.npy"), x)
        result = self.bnorm("apply", "x.npy", "-o", "y.json", "--stats-out", "s.json")
        self.assertEqual(result.status, 0, result)
        y = np.array(json.loads(self.path("y.json").read_text()))  # Python reads NaN/Infinity
        self.assertTrue(np.isnan(y[:, 1]).all())  # a channel holding NaN is NaN, as in PyTorch
        np.testing.assert_allclose(y[:, 0], reference(x[:, :1])[:, 0], rtol=1e-12)
        stats = json.loads(self.path("s.json").read_text())
        self.assertEqual(stats["nonfinite"], [0, 3])


if __name__ == "__main__":
    unittest.main()
