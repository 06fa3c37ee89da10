#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The progress bar and --verbose: a bar on a terminal (a pseudo-terminal here) for long
passes, none on a pipe, none with --quiet, erased at the end; --verbose's report.

BNORM_PROGRESS_THRESHOLD=0 draws the bar for every pass, so a small file is enough.
"""
import os
import subprocess
import unittest

import numpy as np

from cli_support import BNORM, ScratchTestCase


def visible_line(raw):
    """What stays on the terminal's current line after the carriage returns: the last
    segment written over the others."""
    shown = ""
    for segment in raw.split("\r"):
        shown = segment + shown[len(segment):]
    return shown


class Progress(ScratchTestCase):
    def setUp(self):
        super().setUp()
        # 2 Mi float32 values (8 MiB): several chunks and several groups in each pass.
        rng = np.random.default_rng(7)
        np.save(self.path("big.npy"), rng.standard_normal((32, 4, 128, 128), dtype=np.float32))

    def run_with_stderr_on_tty(self, *args, threshold="0"):
        """Runs bnorm with standard error on a pseudo-terminal; returns (status, what the
        terminal received)."""
        master, slave = os.openpty()
        env = dict(os.environ)
        if threshold is not None:
            env["BNORM_PROGRESS_THRESHOLD"] = threshold
        process = subprocess.Popen([BNORM, *map(str, args)], cwd=self.dir, env=env,
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=slave)
        os.close(slave)
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
        return process.wait(timeout=60), received.decode()

    def test_a_terminal_that_narrows_gets_no_line_wider_than_itself(self):
        # A bar drawn 120 columns wide, then the terminal narrowed to 40 while bnorm is
        # stopped: everything written after that (redraws and the erase) must fit in 39
        # columns, or the line wraps and leaves rows of old bars behind.
        import fcntl
        import signal
        import struct
        import termios
        rng = np.random.default_rng(8)
        np.save(self.path("long.npy"), rng.standard_normal((64, 16, 128, 128), dtype=np.float32))
        master, slave = os.openpty()
        size = lambda columns: fcntl.ioctl(master, termios.TIOCSWINSZ,
                                           struct.pack("HHHH", 24, columns, 0, 0))
        size(120)
        process = subprocess.Popen([BNORM, "apply", "long.npy", "-o", "y.npy",
                                    "--virtual-batch-size", "1"], cwd=self.dir,
                                   env=dict(os.environ, BNORM_PROGRESS_THRESHOLD="0"),
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=slave)
        os.close(slave)
        before, after = b"", b""
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            if before or after:
                after += data
            else:
                before = data  # the first bar, drawn at 120 columns
                process.send_signal(signal.SIGSTOP)
                size(40)
                process.send_signal(signal.SIGCONT)
        os.close(master)
        self.assertEqual(process.wait(timeout=60), 0)
        self.assertGreater(max(len(s) for s in before.split(b"\r")), 40, before)
        segments = after.split(b"\r")
        self.assertTrue(any(segments), "nothing drawn or erased after the resize")
        self.assertLessEqual(max(len(s) for s in segments), 39, after)

    def test_a_bar_per_pass_on_a_terminal_erased_at_the_end(self):
        status, tty = self.run_with_stderr_on_tty("apply", "big.npy", "-o", "y.npy")
        self.assertEqual(status, 0, tty)
        self.assertIn("\rbnorm: statistics [", tty)
        self.assertIn("\rbnorm: normalize [", tty)
        self.assertLess(tty.index("bnorm: statistics"), tty.index("bnorm: normalize"))
        self.assertRegex(tty, r"\d+%  [\d.]+ (B|KiB|MiB)/8\.0 MiB  [\d.]+ (B|KiB|MiB|GiB)/s  "
                              r"[\d:-]+ left")
        self.assertNotIn("\n", tty)  # one line, redrawn
        self.assertEqual(visible_line(tty).strip(), "")  # and nothing of it left
        # The output is the whole normalized tensor.
        y = np.load(self.path("y.npy"))
        self.assertEqual(y.shape, (32, 4, 128, 128))
        self.assertLess(abs(float(y.astype(np.float64).mean())), 1e-4)

    def test_a_dataset_gets_one_bar_of_files_and_bytes(self):
        os.mkdir(self.path("data"))
        for i in range(6):
            os.link(self.path("big.npy"), self.path(f"data/{i}.npy"))
        status, tty = self.run_with_stderr_on_tty("stats", "data", "-j", "2", "--format", "json")
        self.assertEqual(status, 0, tty)
        self.assertIn("\rbnorm: statistics of 6 files ", tty)
        self.assertRegex(tty, r"\d+%  [\d.]+ (B|KiB|MiB)/48\.0 MiB  ")
        self.assertNotIn("\n", tty)
        self.assertEqual(visible_line(tty).strip(), "")

    def test_many_files_get_one_bar_of_files_and_bytes(self):
        os.mkdir(self.path("many"))
        for i in range(4):
            np.save(self.path(f"many/{i}.npy"), np.load(self.path("big.npy"))[8 * i:8 * i + 8])
        status, tty = self.run_with_stderr_on_tty("apply", "many", "-o", "out/", "-j", "2")
        self.assertEqual(status, 0, tty)
        self.assertIn("\rbnorm: 4 files [", tty)
        self.assertNotIn("statistics [", tty)  # no bar per pass of each file
        self.assertRegex(tty, r"\d+%  [\d.]+ (B|KiB|MiB)/8\.0 MiB")
        self.assertNotIn("\n", tty)
        self.assertEqual(visible_line(tty).strip(), "")
        self.assertEqual(sorted(os.listdir(self.path("out"))), [f"{i}.npy" for i in range(4)])

    def test_lines_fit_the_terminal(self):
        _, tty = self.run_with_stderr_on_tty("apply", "big.npy", "-o", "y.npy")
        for segment in tty.split("\r"):
            self.assertLess(len(segment), 80, segment)

    def test_eval_mode_is_one_pass(self):
        self.path("state.json").write_text('{"running_mean": [0, 0, 0, 0], '
                                           '"running_var": [1, 1, 1, 1]}')
        status, tty = self.run_with_stderr_on_tty(
            "apply", "big.npy", "-o", "y.npy", "--mode", "eval", "--state", "state.json")
        self.assertEqual(status, 0, tty)
        self.assertIn("bnorm: normalize [", tty)
        self.assertNotIn("statistics", tty)
        status, tty = self.run_with_stderr_on_tty("convert", "big.npy", "z.npy")
        self.assertEqual(status, 0, tty)
        self.assertIn("bnorm: convert [", tty)
        self.assertNotIn("statistics", tty)

    def test_quiet_draws_nothing(self):
        for flag in ["--quiet", "-q"]:
            status, tty = self.run_with_stderr_on_tty("apply", "big.npy", "-o", "y.npy", flag)
            self.assertEqual((status, tty), (0, ""))
        status, tty = self.run_with_stderr_on_tty("stats", "big.npy", "--quiet")
        self.assertEqual((status, tty), (0, ""))

    def test_a_pipe_gets_nothing(self):
        env = dict(os.environ, BNORM_PROGRESS_THRESHOLD="0")
        completed = subprocess.run([BNORM, "apply", "big.npy", "-o", "y.npy"], cwd=self.dir,
                                   env=env, capture_output=True)
        self.assertEqual((completed.returncode, completed.stderr), (0, b""))

    def test_a_short_run_gets_nothing_by_default(self):
        # The sample takes milliseconds, far below the default threshold of one second.
        status, tty = self.run_with_stderr_on_tty("apply", "samples/batch.npy", "-o", "y.npy",
                                                  threshold=None)
        self.assertEqual((status, tty), (0, ""))

    def test_an_error_on_a_terminal_is_one_clean_line(self):
        # A state for 3 channels does not fit a 4-channel input: an error before any pass.
        status, tty = self.run_with_stderr_on_tty("apply", "big.npy", "-o", "y.npy", "--state",
                                                  "samples/state.json")
        self.assertEqual(status, 3)
        self.assertTrue(tty.startswith("bnorm: error: "), tty)
        self.assertEqual(tty.count("\n"), 1, tty)


class Verbose(ScratchTestCase):
    def verbose(self, *args):
        completed = subprocess.run([BNORM, *args, "--verbose"], cwd=self.dir,
                                   capture_output=True, text=True)
        self.assertEqual(completed.returncode, 0, completed.stderr)
        return completed.stderr.splitlines()

    def test_train_mode_under_torch(self):
        self.assertEqual(self.verbose("apply", "samples/batch.npy", "-o", "y.npy"), [
            "bnorm: convention torch, train mode, eps 1e-05, normalized with the batch's "
            "statistics",
            "bnorm: momentum: weight of the new batch 0.1 (--momentum 0.1 under torch): "
            "running = 0.9*old + 0.1*batch; running_var fed: unbiased variance",
            "bnorm: layout: channel axis 1 of shape (4, 3, 5, 5): outer 4 x channels 3 x "
            "inner 25, 100 values per channel",
            "bnorm: 2 passes over the data: statistics, normalize",
        ])

    def test_keras_momentum_is_reported_as_the_weight_of_the_new_batch(self):
        lines = self.verbose("apply", "samples/batch.npy", "-o", "y.npy", "--convention",
                             "keras")
        new = repr(1 - 0.99)  # the double Keras weights the batch with, 0.010000000000000009
        self.assertIn(f"bnorm: momentum: weight of the new batch {new} (--momentum 0.99 under "
                      f"keras): running = 0.99*old + {new}*batch; running_var fed: biased variance",
                      lines)
        self.assertIn("bnorm: layout: channel axis 3 of shape (4, 3, 5, 5): outer 60 x "
                      "channels 5 x inner 1, 60 values per channel", lines)

    def test_cumulative_average_weighs_the_kth_batch_one_kth(self):
        # samples/state.json has num_batches_tracked 100: this is batch 101.
        lines = self.verbose("apply", "samples/batch.npy", "-o", "y.npy", "--momentum", "none",
                             "--state", "samples/state.json")
        self.assertRegex(lines[1], r"^bnorm: momentum: weight of the new batch 0\.0099009\d* "
                                   r"\(--momentum none \(cumulative average\)\)")

    def test_eval_mode(self):
        self.assertEqual(self.verbose("apply", "samples/batch.npy", "-o", "y.npy", "--mode",
                                      "eval", "--state", "samples/state.json")[1:], [
            "bnorm: momentum: unused (eval mode leaves the running statistics as they are)",
            "bnorm: layout: channel axis 1 of shape (4, 3, 5, 5): outer 4 x channels 3 x "
            "inner 25, 100 values per channel",
            "bnorm: 1 pass over the data: normalize",
        ])

    def test_stats_and_nothing_without_the_flag(self):
        self.assertEqual(self.verbose("stats", "samples/batch.npy", "--format", "csv"), [
            "bnorm: layout: channel axis 1 of shape (4, 3, 5, 5): outer 4 x channels 3 x "
            "inner 25, 100 values per channel",
            "bnorm: 1 pass over the data: statistics",
        ])
        completed = subprocess.run([BNORM, "apply", "samples/batch.npy", "-o", "y.npy"],
                                   cwd=self.dir, capture_output=True)
        self.assertEqual(completed.stderr, b"")


if __name__ == "__main__":
    unittest.main()
