#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Failures that need more than one command line: a full disk, a read-only folder, a signal,
an output's mode.  Each failure must leave no output file, no temporary, and the input's bytes
as they were.  The message and exit status of each bad flag (2), bad file (3) and failed I/O
(4) are case files in tests/cases/, with the expected output beside them."""
import json
import os
import pathlib
import signal
import subprocess
import time
import unittest

import numpy as np

from cli_support import BNORM, ScratchTestCase


class IoErrors(ScratchTestCase):
    """Exit status 4: a file cannot be read or written."""

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
