# SPDX-License-Identifier: Apache-2.0
"""Formats told by a file's first bytes where its name says nothing (standard input, /dev/stdin,
a FIFO, a name without an extension), outputs written in their input's format, and names whose
extension disagrees with the bytes refused.  (compare's dtype rule over every pair of typed
formats is test_command_line_truth's.)
The inputs are written by NumPy (np.save, np.savez, np.savez_compressed), by Python's json, and
by the safetensors layout written out by hand (cli_support.write_safetensors); the outputs are
read back by NumPy and Python, not by bnorm."""
import io
import itertools
import json
import os
import struct
import threading
import unittest

import numpy as np

from cli_support import ScratchTestCase, write_safetensors

VALUES = np.array([[1.5, -2.0, 3.25], [0.5, 4.0, -1.0], [2.0, 2.5, 0.0], [7.0, -3.5, 1.0]],
                  dtype=np.float32)
EXTENSION = {"npy": ".npy", "npz": ".npz", "npz-deflated": ".npz", "safetensors": ".safetensors",
             "json": ".json"}
# The words a message uses for a file of each format.
A_FILE = {".npy": "a .npy file", ".npz": "an .npz file", ".safetensors": "a .safetensors file",
          ".json": "a JSON file"}


def encoded(kind, array=VALUES):
    """The bytes of `array` as a file of `kind`, written by the format's own tools."""
    buffer = io.BytesIO()
    if kind == "npy":
        np.save(buffer, array)
    elif kind == "npz":
        np.savez(buffer, x=array)
    elif kind == "npz-deflated":
        np.savez_compressed(buffer, x=array)
    elif kind == "json":
        # White space first: JSON is told by its first byte that is not white space.
        return b"\n   " + json.dumps(array.astype(np.float64).tolist()).encode()
    elif kind == "safetensors":
        names = {np.dtype(np.float16): "F16", np.dtype(np.float32): "F32",
                 np.dtype(np.float64): "F64"}
        path = "/dev/shm/bnorm-st-%d" % os.getpid()
        write_safetensors(path, {"x": (names[array.dtype], array.shape,
                                       np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes())})
        with open(path, "rb") as f:
            data = f.read()
        os.unlink(path)
        return data
    return buffer.getvalue()


def decoded(kind, data):
    """The tensor a file of `kind` holds, read by NumPy / Python."""
    if kind == "npy":
        return np.load(io.BytesIO(data))
    if kind.startswith("npz"):
        with np.load(io.BytesIO(data)) as archive:
            (name,) = archive.files
            return archive[name]
    if kind == "json":
        return np.array(json.loads(data), dtype=np.float64)
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    (name,) = [k for k in header if k != "__metadata__"]
    entry = header[name]
    types = {"F16": "<f2", "F32": "<f4", "F64": "<f8"}
    begin, end = entry["data_offsets"]
    raw = data[8 + length + begin:8 + length + end]
    return np.frombuffer(raw, dtype=types[entry["dtype"]]).reshape(entry["shape"])


def kind_of_output(kind):
    # bnorm writes .npz stored, whichever way its input was.
    return "npz" if kind == "npz-deflated" else kind


class FormatsToldByBytes(ScratchTestCase):
    def expected(self, kind):
        """What `apply` writes for this input when its name tells its format."""
        named = self.path("named" + EXTENSION[kind])
        named.write_bytes(encoded(kind))
        out = self.path("expected" + EXTENSION[kind])
        result = self.bnorm("apply", named, "-o", out)
        self.assertEqual(result.status, 0, result)
        return decoded(kind_of_output(kind), out.read_bytes())

    def assertSameTensor(self, kind, data, expected):
        got = decoded(kind_of_output(kind), data)
        self.assertEqual(got.dtype, expected.dtype)
        np.testing.assert_array_equal(got, expected)

    def test_standard_input_in_every_format_writes_standard_output_in_it(self):
        for kind in EXTENSION:
            with self.subTest(kind=kind):
                expected = self.expected(kind)
                result = self.bnorm("apply", "-", "-o", "-", stdin=encoded(kind))
                self.assertEqual(result.status, 0, result)
                self.assertSameTensor(kind, result.stdout, expected)
                # /dev/stdin names standard input, and says nothing of its format either.
                result = self.bnorm("apply", "/dev/stdin", "-o", "/dev/stdout",
                                    stdin=encoded(kind))
                self.assertEqual(result.status, 0, result)
                self.assertSameTensor(kind, result.stdout, expected)

    def test_a_name_without_extension_and_a_fifo_are_told_by_their_bytes(self):
        for kind in EXTENSION:
            with self.subTest(kind=kind):
                expected = self.expected(kind)
                plain = self.path("tensor-" + kind)
                plain.write_bytes(encoded(kind))
                out = self.path("out-" + kind)  # no extension: the input's format
                result = self.bnorm("apply", plain, "-o", out)
                self.assertEqual(result.status, 0, result)
                self.assertSameTensor(kind, out.read_bytes(), expected)

                fifo = self.path("fifo-" + kind + ".in")
                os.mkfifo(fifo)
                data = encoded(kind)

                def feed():
                    with open(fifo, "wb") as f:
                        f.write(data)

                writer = threading.Thread(target=feed)
                writer.start()
                result = self.bnorm("apply", fifo, "-o", "-")
                writer.join()
                self.assertEqual(result.status, 0, result)
                self.assertSameTensor(kind, result.stdout, expected)

    def test_output_format_names_the_output_over_the_input(self):
        self.path("x.npy").write_bytes(encoded("npy"))
        expected = self.expected("npy")
        result = self.bnorm("apply", "x.npy", "-o", "-", "--output-format", "json")
        self.assertEqual(result.status, 0, result)
        # Each number is the shortest text that reads back as the same float32.
        np.testing.assert_array_equal(decoded("json", result.stdout).astype(np.float32), expected)

    def test_an_extension_that_disagrees_with_the_bytes_is_invalid_data_naming_both(self):
        kinds = ["npy", "npz", "npz-deflated", "safetensors", "json"]
        for named, kind in itertools.product(EXTENSION.values(), kinds):
            actual = EXTENSION[kind]
            if named == actual:
                continue
            with self.subTest(named=named, bytes=kind):
                path = self.path("x" + named)
                path.write_bytes(encoded(kind))
                message = (f"bnorm: error: x{named}: named as {A_FILE[named]}, but its first "
                           f"bytes are those of {A_FILE[actual]}")
                for command in (["stats", path.name], ["apply", path.name, "-o", "y.npy"],
                                ["convert", path.name, "y.npy"],
                                ["compare", path.name, "samples/batch.npy"]):
                    result = self.bnorm(*command)
                    self.assertFailsWith(result, 3)
                    self.assertEqual(result.stderr.strip(), message)
                self.assertFalse(self.path("y.npy").exists())
                path.unlink()

    def test_bytes_no_format_begins_are_a_usage_error_on_standard_input(self):
        result = self.bnorm("stats", "-", stdin=b"hello, world")
        self.assertFailsWith(result, 2)
        self.assertEqual(result.stderr.strip(), "bnorm: error: cannot tell the format of <stdin> "
                         "from its first bytes; name it with --input-format")
        # Named, the format's own reader says what is wrong.
        result = self.bnorm("stats", "-", "--input-format", "npy", stdin=b"hello, world")
        self.assertFailsWith(result, 3, "<stdin>: ", "not a .npy file")

    def test_a_state_on_standard_input_is_told_by_its_bytes(self):
        self.path("x.npy").write_bytes(encoded("npy"))
        mean = np.array([0.5, -1.0, 2.0]).astype(np.float32)
        var = np.array([2.0, 0.25, 1.0]).astype(np.float32)
        state = io.BytesIO()
        np.savez(state, **{"bn.running_mean": mean, "bn.running_var": var})
        self.path("state.npz").write_bytes(state.getvalue())
        by_name = self.bnorm("apply", "x.npy", "-o", "by_name.npy", "--mode", "eval",
                             "--axis", "1", "--state", "state.npz", "--state-prefix", "bn.")
        self.assertEqual(by_name.status, 0, by_name)
        by_bytes = self.bnorm("apply", "x.npy", "-o", "by_bytes.npy", "--mode", "eval",
                              "--axis", "1", "--state", "-", "--state-prefix", "bn.",
                              stdin=state.getvalue())
        self.assertEqual(by_bytes.status, 0, by_bytes)
        y = np.load(self.path("by_bytes.npy"))
        np.testing.assert_array_equal(y, np.load(self.path("by_name.npy")))
        # And the numbers are eval mode's, computed here in float64 and rounded once.
        reference = ((VALUES.astype(np.float64) - mean) / np.sqrt(var.astype(np.float64) + 1e-5))
        np.testing.assert_array_equal(y, reference.astype(np.float32))


class ReviewedCorners(ScratchTestCase):
    """Corners an independent review found: each test failed before its fix."""

    def test_a_safetensors_header_whose_length_begins_like_text_is_safetensors(self):
        # Lengths whose low byte is '0'..'9', '-', '[' or '{': a header of spaces after '{'.
        for low in b"0123456789-[{NI":
            with self.subTest(first_byte=chr(low)):
                header = b'{"x":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}'
                length = 256 + low
                header += b" " * (length - len(header))
                data = struct.pack("<Q", length) + header + np.arange(4, dtype="<f4").tobytes()
                for name in ("t.safetensors", "t"):
                    self.path(name).write_bytes(data)
                    result = self.bnorm("convert", name, "y.npy")
                    self.assertEqual(result.status, 0, result)
                    np.testing.assert_array_equal(np.load(self.path("y.npy")),
                                                  np.arange(4, dtype=np.float32).reshape(2, 2))

    def test_compare_reads_a_fifo_and_dev_stdin_once(self):
        self.path("x.npy").write_bytes(encoded("npy"))
        result = self.bnorm("compare", "/dev/stdin", "x.npy", stdin=encoded("npy"))
        self.assertEqual(result.status, 0, result)
        fifo = self.path("f")
        os.mkfifo(fifo)
        writer = threading.Thread(target=lambda: fifo.write_bytes(encoded("npy")))
        writer.start()
        result = self.bnorm("compare", "f", "x.npy")
        writer.join()
        self.assertEqual(result.status, 0, result)

    def test_flags_that_cannot_apply_are_refused_before_a_file_is_read(self):
        for command in (["apply", "missing.npy", "-o", "y.npy", "--tensor", "x"],
                        ["stats", "missing.json", "--tensor", "x"],
                        ["compare", "missing.npy", "other.npy", "--tensor", "x"],
                        ["compare", "missing.npy", "other.npy", "--ignore-extra-keys"]):
            with self.subTest(command=command):
                self.assertFailsWith(self.bnorm(*command), 2)

    def test_a_gradient_on_standard_input_is_never_told_to_use_tensor(self):
        # --tensor picks from INPUT, never from --grad-output, on standard input or not.
        self.path("x.npy").write_bytes(encoded("npy"))
        two = io.BytesIO()
        np.savez(two, a=VALUES, b=VALUES)
        result = self.bnorm("backward", "x.npy", "--grad-output", "-", "-o", "g.npy",
                            stdin=two.getvalue())
        self.assertFailsWith(result, 2)
        self.assertEqual(result.stderr.strip(), "bnorm: error: <stdin> holds 2 tensors ('a', 'b'): "
                         "give a file of one tensor")

    def test_an_output_named_only_by_its_extension_is_in_that_format(self):
        self.path("x.npy").write_bytes(encoded("npy"))
        result = self.bnorm("convert", "x.npy", ".safetensors")
        self.assertEqual(result.status, 0, result)
        np.testing.assert_array_equal(decoded("safetensors", self.path(".safetensors").read_bytes()),
                                      VALUES)

    def test_fold_bias_out_with_no_name_to_tell_is_in_weight_s_format(self):
        self.path("w.npy").write_bytes(encoded("npy"))
        self.path("state.json").write_text(json.dumps({"running_mean": [0, 0, 0, 0],
                                                       "running_var": [1, 1, 1, 1]}))
        result = self.bnorm("fold", "w.npy", "--axis", "0", "--state", "state.json", "-o", "w.json",
                            "--bias-out", "b")
        self.assertEqual(result.status, 0, result)
        self.assertEqual(np.load(self.path("b")).shape, (4,))


class Terminal(ScratchTestCase):
    """Standard output on a pseudo-terminal (Python's pty)."""

    def run_on_terminal(self, *args):
        import pty
        import subprocess
        from cli_support import BNORM
        leader, follower = pty.openpty()
        completed = subprocess.run([BNORM, *args], cwd=self.dir, stdout=follower,
                                   stderr=subprocess.PIPE, timeout=60)
        os.close(follower)
        os.close(leader)
        return completed

    def test_binary_output_is_refused_on_a_terminal_and_text_is_not(self):
        self.path("x.npy").write_bytes(encoded("npy"))
        for output in ("-", "/dev/stdout"):
            with self.subTest(output=output):
                completed = self.run_on_terminal("apply", "x.npy", "-o", output)
                self.assertEqual(completed.returncode, 2, completed.stderr)
                self.assertIn(b"is a terminal, and a .npy file is not text", completed.stderr)
                self.assertIn(b"--output-format json", completed.stderr)
        completed = self.run_on_terminal("apply", "x.npy", "-o", "-", "--output-format", "json")
        self.assertEqual(completed.returncode, 0, completed.stderr)

    def test_fold_bias_out_on_a_terminal_is_not_told_to_use_output_format(self):
        # --output-format names -o's format, not --bias-out's: the advice is to redirect.
        self.path("w.npy").write_bytes(encoded("npy"))
        self.path("state.json").write_text(json.dumps({"running_mean": [0, 0, 0, 0],
                                                       "running_var": [1, 1, 1, 1]}))
        completed = self.run_on_terminal("fold", "w.npy", "--axis", "0", "--state", "state.json",
                                         "-o", "w.json", "--bias-out", "-")
        self.assertEqual(completed.returncode, 2, completed.stderr)
        self.assertTrue(completed.stderr.endswith(b"is not text: redirect it\n"), completed.stderr)
        self.assertFalse(self.path("w.json").exists())


if __name__ == "__main__":
    unittest.main()
