#!/usr/bin/python3
"""Every exit status with its message: bad flags (2), bad data (3), failed I/O (4).  Each
failure must leave no output file, no temporary, and the input's bytes as they were."""
import io
import json
import os
import pathlib
import signal
import subprocess
import time
import unittest

import numpy as np

from cli_support import BNORM, ScratchTestCase, digest


def npy_bytes(array):
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def npy_with_header(header, data=b""):
    """A version 1.0 .npy file with `header` (the dict text) padded as NumPy pads it."""
    text = header.encode("latin-1")
    padding = 64 - (10 + len(text) + 1) % 64
    text += b" " * padding + b"\n"
    return b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text + data


class UsageErrors(ScratchTestCase):
    """Exit status 2: the command itself is wrong."""

    def check(self, *args, phrase=""):
        before = digest(self.path("samples/batch.npy"))
        result = self.bnorm(*args)
        self.assertFailsWith(result, 2, phrase)
        self.assertNoStrayFiles()
        self.assertEqual(digest(self.path("samples/batch.npy")), before)

    def test_no_subcommand(self):
        self.check(phrase="subcommand")

    def test_unknown_subcommand_is_named_with_the_ones_there_are(self):
        result = self.bnorm("aply", "samples/batch.npy", "-o", "y.npy")
        self.assertFailsWith(result, 2)
        self.assertEqual(result.stderr.splitlines(),
                         ["bnorm: error: no subcommand 'aply': there are apply, stats, compare, "
                          "convert, merge, backward, fold (see bnorm help)"])
        self.assertNoStrayFiles()

    def test_unknown_flag(self):
        self.check("apply", "samples/batch.npy", "-o", "y.npy", "--frobnicate", phrase="--frobnicate")

    def test_missing_output(self):
        self.check("apply", "samples/batch.npy", phrase="--output")

    def test_unknown_mode(self):
        self.check("apply", "samples/batch.npy", "-o", "y.npy", "--mode", "test", phrase="--mode")

    def test_unknown_convention(self):
        self.check("apply", "samples/batch.npy", "-o", "y.npy", "--convention", "caffe2",
                   phrase="unknown convention 'caffe2'")

    def test_negative_eps(self):
        self.check("apply", "samples/batch.npy", "-o", "y.npy", "--eps", "-1e-5", phrase="--eps")

    def test_non_numeric_eps(self):
        self.check("apply", "samples/batch.npy", "-o", "y.npy", "--eps", "small", phrase="--eps")

    def test_nan_eps(self):
        self.check("apply", "samples/batch.npy", "-o", "y.npy", "--eps", "nan", phrase="--eps")

    def test_momentum_above_one(self):
        self.check("apply", "samples/batch.npy", "-o", "y.npy", "--momentum", "1.5",
                   phrase="--momentum")

    def test_momentum_nan(self):
        # CLI11's own Range check lets NaN through; bnorm must not.
        self.check("apply", "samples/batch.npy", "-o", "y.npy", "--momentum", "nan",
                   phrase="--momentum")

    def test_fractional_axis(self):
        self.check("apply", "samples/batch.npy", "-o", "y.npy", "--axis", "1.5", phrase="--axis")

    def test_octal_looking_axis_is_decimal(self):
        # CLI11 would read 010 as 8; bnorm reads 10, which is outside rank 4: a data error.
        result = self.bnorm("apply", "samples/batch.npy", "-o", "y.npy", "--axis", "010")
        self.assertFailsWith(result, 3, "axis 10 is outside")

    def test_eval_without_running_statistics(self):
        self.check("apply", "samples/batch.npy", "-o", "y.npy", "--mode", "eval",
                   phrase="running_mean and running_var")

    def test_stdin_needs_a_format(self):
        self.check("apply", "-", "-o", "y.npy", phrase="--input-format")

    def test_stdout_needs_a_format(self):
        self.check("apply", "samples/batch.npy", "-o", "-", phrase="--output-format")

    def test_unknown_extension(self):
        self.check("apply", "samples/batch.npy", "-o", "y.txt", phrase="y.txt")


class DataErrors(ScratchTestCase):
    """Exit status 3: a file is malformed, unsupported, or does not fit the command."""

    def check_input(self, name, content, *phrases, args=()):
        self.path(name).write_bytes(content)
        before = digest(self.path(name))
        result = self.bnorm("apply", name, "-o", "y.npy", *args)
        self.assertFailsWith(result, 3, f"bnorm: error: {name}: ", *phrases)
        self.assertNoStrayFiles(name)
        self.assertEqual(digest(self.path(name)), before)

    def test_empty_npy(self):
        self.check_input("x.npy", b"", "empty")

    def test_bad_magic(self):
        self.check_input("x.npy", b"PK\x03\x04" + b"\0" * 60, "byte 0", "magic")

    def test_unknown_version(self):
        data = bytearray(npy_bytes(np.zeros((2, 3), np.float32)))
        data[6] = 9
        self.check_input("x.npy", bytes(data), "byte 6", "version 9.0")

    def test_header_past_end_of_file(self):
        data = npy_bytes(np.zeros((2, 3), np.float32))[:40]
        self.check_input("x.npy", data, "runs past the end")

    def test_truncated_data(self):
        data = npy_bytes(np.zeros((2, 3), np.float32))[:-4]
        self.check_input("x.npy", data, "byte 128", "20 bytes", "needs 24")

    def test_trailing_data(self):
        data = npy_bytes(np.zeros((2, 3), np.float32)) + b"\0" * 8
        self.check_input("x.npy", data, "32 bytes", "needs 24")

    def test_negative_dimension(self):
        data = npy_bytes(np.zeros((2, 3), np.float32)).replace(b"(2, 3)", b"(2,-3)")
        self.check_input("x.npy", data, "negative dimension")

    def test_forged_huge_shape_is_refused_before_allocating(self):
        # 2**61 float32 values: 8 EiB claimed by a 128-byte file.  Refused by size, at once.
        data = npy_with_header(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2305843009213693952, 1), }", b"\0" * 24)
        self.check_input("x.npy", data, "is 24 bytes", "needs 9223372036854775808")

    def test_forged_huge_shape_on_stdin_is_refused_before_allocating(self):
        # From a pipe the size is unknown: memory must grow only with the bytes that arrive.
        data = npy_with_header(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2305843009213693952, 1), }", b"\0" * 24)
        result = self.bnorm("apply", "-", "--input-format", "npy", "-o", "y.npy", stdin=data)
        self.assertFailsWith(result, 3, "<stdin>", "is 24 bytes", "needs 9223372036854775808")
        self.assertNoStrayFiles()

    def test_element_count_overflow(self):
        data = npy_with_header(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }")
        self.check_input("x.npy", data, "too large to address")

    def test_header_is_code(self):
        data = npy_bytes(np.zeros((2, 3), np.float32)).replace(
            b"{'descr'", b"__import__('os')#'", 1)
        self.check_input("x.npy", data, "not a Python dict literal")

    def test_complex_dtype(self):
        self.check_input("x.npy", npy_bytes(np.zeros((2, 3), np.complex64)), "complex")

    def test_object_dtype(self):
        data = npy_bytes(np.zeros((2, 3), np.float64)).replace(b"'<f8'", b"'|O' ")
        self.check_input("x.npy", data, "Python objects")

    def test_rank_one(self):
        self.check_input("x.npy", npy_bytes(np.zeros(5, np.float32)), "at least 2 dimensions")

    def test_batch_without_channels(self):
        # An empty batch (N = 0) is normalized as PyTorch does (test_degenerate); no channels
        # is not a batch.
        self.check_input("x.npy", npy_bytes(np.zeros((3, 0), np.float32)), "no channels")

    def test_one_value_per_channel_in_torch_training(self):
        self.check_input("x.npy", npy_bytes(np.ones((1, 3), np.float32)),
                         "Expected more than 1 value per channel when training")

    def test_axis_outside_rank(self):
        self.check_input("x.npy", npy_bytes(np.ones((2, 3), np.float32)), "axis 2 is outside",
                         args=("--axis", "2"))

    def test_ragged_json(self):
        self.check_input("x.json", b"[[1, 2], [3, 4, 5]]", "line 1, column 18", "ragged")

    def test_json_string_element(self):
        self.check_input("x.json", b'[[1, 2],\n ["3", 4]]', "line 2, column 3", "string")

    def test_json_too_deep(self):
        self.check_input("x.json", b"[" * 100000 + b"]" * 100000, "deeper than 32")

    def test_json_number_overflow(self):
        self.check_input("x.json", b"[[1, 2], [3, 1e400]]", "too large for a double")

    def check_state(self, state_text, *phrases):
        self.path("state.json").write_text(state_text)
        result = self.bnorm("apply", "samples/batch.npy", "-o", "y.npy", "--state", "state.json",
                            "--stats-out", "stats.json")
        self.assertFailsWith(result, 3, "bnorm: error: state.json: ", *phrases)
        self.assertNoStrayFiles("state.json")

    def test_state_wrong_length(self):
        self.check_state('{"weight": [1, 2]}', "weight has 2 values", "3 channels")

    def test_state_negative_running_var(self):
        self.check_state('{"running_var": [1, -1, 1]}', "running_var[1] is negative")

    def test_state_non_number(self):
        self.check_state('{"bias": [0, "a", 0]}', "element 1 is not a number")

    def test_state_unknown_key(self):
        self.check_state('{"running_variance": [1, 1, 1]}', 'unknown key "running_variance"')

    def test_state_malformed_json(self):
        self.check_state('{"weight": [1, 1, 1],\n  "bias": [0, 0, 0}', "line 2, column 19")


class IoErrors(ScratchTestCase):
    """Exit status 4: a file cannot be read or written."""

    def test_missing_input(self):
        result = self.bnorm("apply", "nothing.npy", "-o", "y.npy")
        self.assertFailsWith(result, 4, "nothing.npy: No such file or directory")
        self.assertNoStrayFiles()

    def test_missing_state(self):
        result = self.bnorm("apply", "samples/batch.npy", "-o", "y.npy", "--state", "gone.json")
        self.assertFailsWith(result, 4, "gone.json: No such file or directory")
        self.assertNoStrayFiles()

    def test_output_in_missing_folder(self):
        result = self.bnorm("apply", "samples/batch.npy", "-o", "no/such/dir/y.npy")
        self.assertFailsWith(result, 4, "no/such/dir/y.npy", "No such file or directory")
        self.assertNoStrayFiles()

    def test_input_is_a_folder(self):
        os.mkdir(self.path("d.npy"))
        result = self.bnorm("apply", "d.npy", "-o", "y.npy")
        self.assertFailsWith(result, 4, "d.npy: Is a directory")

    @unittest.skipUnless(os.path.exists("/dev/full"), "needs /dev/full")
    def test_full_device(self):
        result = self.bnorm("apply", "samples/batch.npy", "-o", "/dev/full", "--output-format", "npy")
        self.assertFailsWith(result, 4, "/dev/full", "No space left on device")
        self.assertTrue(os.path.exists("/dev/full") and not os.path.isfile("/dev/full"))

    def test_full_disk(self):
        # A 64 KiB tmpfs stands in for a full disk; mounting one needs root (CI runs as root).
        disk = self.path("tiny")
        os.mkdir(disk)
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(disk)],
                          capture_output=True).returncode != 0:
            self.skipTest("cannot mount a tmpfs here")
        try:
            (disk / "y.npy").write_bytes(b"old")
            np.save(self.path("x.npy"), np.zeros((64, 4, 256), np.float32))  # 256 KiB
            for name in ["y.npy", "new.npy"]:
                result = self.bnorm("apply", "x.npy", "-o", f"tiny/{name}")
                self.assertFailsWith(result, 4, f"tiny/{name}", "No space left on device")
                self.assertEqual(sorted(p.name for p in disk.iterdir()), ["y.npy"])
                self.assertEqual((disk / "y.npy").read_bytes(), b"old")
        finally:
            subprocess.run(["umount", str(disk)], check=True)

    @unittest.skipIf(os.geteuid() == 0, "root can write to read-only folders")
    def test_read_only_folder(self):
        os.mkdir(self.path("ro"))
        os.chmod(self.path("ro"), 0o555)
        result = self.bnorm("apply", "samples/batch.npy", "-o", "ro/y.npy")
        self.assertFailsWith(result, 4, "Permission denied")
        self.assertEqual(os.listdir(self.path("ro")), [])


class NothingHalfWritten(ScratchTestCase):
    """A failure after the output was opened must leave an existing output as it was."""

    def test_existing_output_survives_a_failed_run(self):
        self.path("y.npy").write_bytes(b"precious")
        self.path("bad.json").write_text('{"weight": [1, 1]}')
        result = self.bnorm("apply", "samples/batch.npy", "-o", "y.npy", "--state", "bad.json")
        self.assertEqual(result.status, 3, result)
        self.assertEqual(self.path("y.npy").read_bytes(), b"precious")
        self.assertNoStrayFiles("bad.json", "y.npy")

    def test_output_may_name_the_input(self):
        np.save(self.path("x.npy"), np.arange(12, dtype=np.float32).reshape(4, 3))
        expected = self.bnorm("apply", "x.npy", "-o", "expected.npy")
        self.assertEqual(expected.status, 0, expected)
        result = self.bnorm("apply", "x.npy", "-o", "x.npy")
        self.assertEqual(result.status, 0, result)
        self.assertEqual(self.path("x.npy").read_bytes(), self.path("expected.npy").read_bytes())

    def test_state_and_stats_out_may_name_the_same_file(self):
        self.path("s.json").write_text(json.dumps({"running_mean": [1, 2, 3]}))
        result = self.bnorm("apply", "samples/batch.npy", "-o", "y.npy", "--state", "s.json",
                            "--stats-out", "s.json")
        self.assertEqual(result.status, 0, result)
        state = json.loads(self.path("s.json").read_text())
        self.assertEqual(state["num_batches_tracked"], 1)
        batch = np.load(self.path("samples/batch.npy")).astype(np.float64)
        expected = 0.9 * np.array([1, 2, 3]) + 0.1 * batch.mean(axis=(0, 2, 3))
        np.testing.assert_allclose(state["running_mean"], expected, rtol=1e-12)

    def test_interrupted_run_leaves_everything_as_it_was(self):
        # SIGTERM while the output is complete in its temporary but not yet renamed: --stats-out
        # names a FIFO with no reader, so bnorm waits there for as long as the test needs.
        np.save(self.path("x.npy"), np.random.default_rng(2).normal(size=(64, 4, 1024)))
        self.path("y.json").write_text("old")
        os.mkfifo(self.path("stats.fifo"))
        process = subprocess.Popen([BNORM, "apply", "x.npy", "-o", "y.json", "--stats-out",
                                    "stats.fifo"], cwd=self.dir, stderr=subprocess.PIPE)
        self.addCleanup(process.kill)
        deadline = time.monotonic() + 30
        # Blocked opening the FIFO, the output whole in its temporary (unnamed where the file
        # system has O_TMPFILE, so there is no name to wait for).
        wchan = pathlib.Path(f"/proc/{process.pid}/wchan")
        while wchan.read_text() != "wait_for_partner":
            self.assertIsNone(process.poll(), process.stderr.read() if process.poll() else "")
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.001)
        process.send_signal(signal.SIGTERM)
        self.assertEqual(process.wait(timeout=30), -signal.SIGTERM)
        self.assertEqual(process.stderr.read(), b"")
        self.assertEqual(self.path("y.json").read_text(), "old")
        self.assertNoStrayFiles("stats.fifo", "x.npy", "y.json")

    def test_existing_output_keeps_its_permissions(self):
        self.path("y.npy").write_bytes(b"old")
        os.chmod(self.path("y.npy"), 0o640)
        result = self.bnorm("apply", "samples/batch.npy", "-o", "y.npy")
        self.assertEqual(result.status, 0, result)
        self.assertEqual(os.stat(self.path("y.npy")).st_mode & 0o777, 0o640)


if __name__ == "__main__":
    unittest.main()
