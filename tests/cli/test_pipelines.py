#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""bnorm in shell pipelines: standard input and output, formats named by flags, a closed
pipe, and state files that chain batch after batch."""
import json
import subprocess
import unittest

import numpy as np

from cli_support import BNORM, ScratchTestCase


class StandardStreams(ScratchTestCase):
    def test_stdin_to_stdout_equals_files(self):
        by_file = self.bnorm("apply", "samples/batch.npy", "-o", "y.npy")
        self.assertEqual(by_file.status, 0, by_file)
        piped = self.bnorm("apply", "-", "--input-format", "npy", "-o", "-", "--output-format",
                           "npy", stdin=self.path("samples/batch.npy").read_bytes())
        self.assertEqual(piped.status, 0, piped)
        self.assertEqual(piped.stdout, self.path("y.npy").read_bytes())

    def test_json_from_stdin_to_npy_on_stdout(self):
        text = self.path("samples/features.json").read_bytes()
        result = self.bnorm("apply", "-", "--input-format", "json", "-o", "-", "--output-format",
                            "npy", stdin=text)
        self.assertEqual(result.status, 0, result)
        self.path("y.npy").write_bytes(result.stdout)
        y = np.load(self.path("y.npy"))
        x = np.array(json.loads(text))
        expected = (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5)
        self.assertEqual(y.dtype, np.float64)
        np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)

    def test_closed_pipe_ends_quietly(self):
        # `bnorm apply big.npy -o - --output-format json | head -c 10`
        np.save(self.path("big.npy"), np.random.default_rng(1).normal(size=(256, 4, 64)))
        pipeline = subprocess.run(
            f"'{BNORM}' apply big.npy -o - --output-format json | head -c 10",
            shell=True, cwd=self.dir, capture_output=True)
        self.assertEqual(len(pipeline.stdout), 10)
        self.assertTrue(pipeline.stdout.startswith(b"[[["), pipeline.stdout)
        self.assertEqual(pipeline.stderr, b"")

    def test_output_format_flag_overrides_extension(self):
        result = self.bnorm("apply", "samples/features.json", "-o", "y.out", "--output-format",
                            "json")
        self.assertEqual(result.status, 0, result)
        self.assertEqual(np.array(json.loads(self.path("y.out").read_text())).shape, (4, 3))


class ChainedBatches(ScratchTestCase):
    """--stats-out of one batch is --state of the next, as in a training loop."""

    def test_three_batches_match_a_running_average(self):
        rng = np.random.default_rng(7)
        batches = [rng.normal(loc=i, scale=1 + i, size=(8, 2, 3)).astype(np.float32)
                   for i in range(3)]
        running_mean, running_var = np.zeros(2), np.ones(2)
        state = []
        for i, batch in enumerate(batches):
            np.save(self.path(f"b{i}.npy"), batch)
            result = self.bnorm("apply", f"b{i}.npy", "-o", f"y{i}.npy", *state,
                                "--stats-out", f"s{i}.json")
            self.assertEqual(result.status, 0, result)
            state = ["--state", f"s{i}.json"]
            x = batch.astype(np.float64)
            running_mean = 0.9 * running_mean + 0.1 * x.mean(axis=(0, 2))
            running_var = 0.9 * running_var + 0.1 * x.var(axis=(0, 2), ddof=1)
        final = json.loads(self.path("s2.json").read_text())
        self.assertEqual(final["num_batches_tracked"], 3)
        np.testing.assert_allclose(final["running_mean"], running_mean, rtol=1e-12)
        np.testing.assert_allclose(final["running_var"], running_var, rtol=1e-12)


if __name__ == "__main__":
    unittest.main()
