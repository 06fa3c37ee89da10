#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Regressions from the code review of the first complete version, one test per finding,
each named after what it guards."""
import json
import os
import subprocess
import time
import unittest

import numpy as np

from cli_support import BNORM, ScratchTestCase


class ReviewFindings(ScratchTestCase):
    def test_compare_of_zero_size_tensors_does_not_divide_by_zero(self):
        self.path("e.json").write_text("[]")
        np.save(self.path("e0.npy"), np.zeros((0, 3), np.float32))
        for name in ["e.json", "e0.npy"]:
            for fmt in ["text", "json"]:
                with self.subTest(file=name, format=fmt):
                    result = self.bnorm("compare", name, name, "--format", fmt)
                    self.assertEqual(result.status, 0, result)

    def test_plot_of_a_tiny_spread_at_a_large_offset_finishes(self):
        np.save(self.path("x.npy"), np.array([[1e16], [1e16 + 2]]))
        started = time.monotonic()
        result = self.bnorm("stats", "x.npy", "--plot", "p.svg", "--format", "csv")
        self.assertEqual(result.status, 0, result)
        self.assertLess(time.monotonic() - started, 10)
        self.assertLess(self.path("p.svg").stat().st_size, 100_000)

    def test_num_batches_tracked_cannot_overflow(self):
        np.save(self.path("x.npy"), np.random.default_rng(1).normal(size=(4, 3)))
        self.path("s.json").write_text('{"num_batches_tracked": 9223372036854775807}')
        result = self.bnorm("apply", "x.npy", "-o", "y.npy", "--state", "s.json", "--momentum",
                            "none")
        self.assertFailsWith(result, 3, "num_batches_tracked")
        self.assertNoStrayFiles("s.json", "x.npy")

    def test_endless_pipe_after_the_data_is_refused_at_once(self):
        np.save(self.path("x.npy"), np.zeros((4, 3), np.float32))
        process = subprocess.Popen(
            f"(cat x.npy; cat /dev/zero) | '{BNORM}' convert - y.json --input-format npy",
            shell=True, cwd=self.dir, stderr=subprocess.PIPE)
        _, stderr = process.communicate(timeout=20)
        self.assertEqual(process.returncode, 3)
        self.assertIn(b"is longer than the 48 bytes", stderr)

    def test_state_with_many_keys_parses_in_linear_time(self):
        keys = {f"k{i}": i for i in range(100_000)}
        self.path("keys.json").write_text(json.dumps(keys))
        started = time.monotonic()
        result = self.bnorm("compare", "keys.json", "keys.json")
        self.assertEqual(result.status, 0, result)
        self.assertLess(time.monotonic() - started, 5)

    def test_output_is_not_replaced_when_the_statistics_cannot_be_written(self):
        self.path("y.npy").write_bytes(b"old")
        result = self.bnorm("apply", "samples/batch.npy", "-o", "y.npy", "--stats-out", "/dev/full")
        self.assertFailsWith(result, 4, "/dev/full")
        self.assertEqual(self.path("y.npy").read_bytes(), b"old")
        self.assertNoStrayFiles("y.npy")

    def test_closed_pipe_leaves_no_temporary(self):
        np.save(self.path("x.npy"), np.random.default_rng(2).normal(size=(64, 4, 4096)))
        subprocess.run(f"'{BNORM}' apply x.npy -o - --output-format json --stats-out s.json "
                       "| head -c 1 > /dev/null", shell=True, cwd=self.dir, check=True)
        self.assertNoStrayFiles("x.npy")

    def test_output_and_statistics_may_not_name_one_file(self):
        result = self.bnorm("apply", "samples/batch.npy", "-o", "same.json", "--stats-out",
                            "./same.json")
        self.assertFailsWith(result, 2, "same file")
        self.assertNoStrayFiles()

    def test_stats_after_reads_standard_input_once(self):
        data = self.path("samples/batch.npy").read_bytes()
        result = self.bnorm("stats", "-", "--input-format", "npy", "--after", "--plot", "p.svg",
                            "--format", "json", stdin=data)
        self.assertEqual(result.status, 0, result)
        self.assertIn("after normalization", self.path("p.svg").read_text())

    def test_user_text_cannot_add_lines_to_a_message(self):
        self.path("s.json").write_text('{"weight\\nbnorm: error: fake": [1, 2, 3]}')
        result = self.bnorm("apply", "samples/batch.npy", "-o", "y.npy", "--state", "s.json")
        self.assertFailsWith(result, 3, "unknown key")
        self.path("s.json").write_text('{"convention": "keras\\nbnorm: warning: spoofed"}')
        result = self.bnorm("apply", "samples/batch.npy", "-o", "y.npy", "--state", "s.json")
        self.assertEqual(result.status, 0, result)
        self.assertEqual(len(result.stderr.splitlines()), 1, result.stderr)

    def test_standard_input_read_from_an_offset(self):
        np.save(self.path("x.npy"), np.arange(12, dtype=np.float32).reshape(4, 3))
        self.path("pre.bin").write_bytes(b"JUNK" + self.path("x.npy").read_bytes())
        completed = subprocess.run(
            f"{{ dd bs=4 count=1 of=/dev/null 2>/dev/null; '{BNORM}' convert - - "
            "--input-format npy --output-format json; } < pre.bin",
            shell=True, cwd=self.dir, capture_output=True)
        self.assertEqual(completed.returncode, 0, completed.stderr)
        self.assertEqual(json.loads(completed.stdout), np.arange(12).reshape(4, 3).tolist())

    def test_plot_on_standard_output_is_refused(self):
        result = self.bnorm("stats", "samples/batch.npy", "--plot", "-", "--format", "json")
        self.assertFailsWith(result, 2, "--plot -")

    def test_negative_zero_keeps_its_sign_in_json(self):
        np.save(self.path("x.npy"), np.array([[-0.0, 1.0], [-0.0, 2.0]]))
        result = self.bnorm("convert", "x.npy", "-", "--output-format", "json")
        values = np.array(json.loads(result.stdout))
        self.assertTrue(np.signbit(values[0, 0]))


if __name__ == "__main__":
    unittest.main()
