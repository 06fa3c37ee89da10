#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A batch split into shards, measured with `stats --partial` on GNU parallel (docs/GUIDE.md's
recipe), merged with `merge` in any order and grouping, and normalized shard by shard with
`apply --batch-stats`: the same output and running statistics as the whole batch at once."""
import json
import os
import shutil
import subprocess
import unittest

import numpy as np

from cli_support import BNORM, ScratchTestCase

SHARDS = 8


class Shards(ScratchTestCase):
    def setUp(self):
        super().setUp()
        rng = np.random.default_rng(61)
        self.x = rng.normal(7.0, 3.0, size=(64, 3, 10, 10)).astype(np.float32)
        np.save(self.path("whole.npy"), self.x)
        os.mkdir(self.path("shards"))
        for i, shard in enumerate(np.split(self.x, SHARDS)):
            np.save(self.path(f"shards/{i}.npy"), shard)
        self.env = dict(os.environ, PATH=f"{os.path.dirname(BNORM)}:{os.environ['PATH']}")

    def shell(self, command):
        completed = subprocess.run(["bash", "-c", command], cwd=self.dir, env=self.env,
                                   capture_output=True, text=True)
        self.assertEqual(completed.returncode, 0, completed.stderr)
        return completed.stdout

    @unittest.skipUnless(shutil.which("parallel"), "needs GNU parallel")
    def test_recipe_matches_the_whole_batch(self):
        # Map: partial statistics per shard; reduce: merge; then normalize every shard.
        self.shell("parallel --will-cite 'bnorm stats {} --partial > {.}.partial.json' "
                   "::: shards/*.npy")
        self.shell("bnorm merge shards/*.partial.json -o total.json")
        self.shell("parallel --will-cite 'bnorm apply {} -o {.}.out.npy --batch-stats total.json "
                   "--stats-out {.}.stats.json' ::: shards/?.npy")
        self.shell("bnorm apply whole.npy -o whole.out.npy --stats-out whole.stats.json")
        joined = np.concatenate([np.load(self.path(f"shards/{i}.out.npy")) for i in range(SHARDS)])
        whole = np.load(self.path("whole.out.npy"))
        np.testing.assert_allclose(joined, whole, rtol=0, atol=1e-6)
        expected = json.loads(self.path("whole.stats.json").read_text())
        for i in range(SHARDS):
            got = json.loads(self.path(f"shards/{i}.stats.json").read_text())
            self.assertEqual(got["count"], expected["count"])
            self.assertEqual(got["num_batches_tracked"], 1)
            for key in ["mean", "var", "running_mean", "running_var"]:
                np.testing.assert_allclose(got[key], expected[key], rtol=1e-12, err_msg=key)
        # And against NumPy's own figures for the whole batch.
        total = json.loads(self.path("total.json").read_text())
        x64 = self.x.astype(np.float64)
        np.testing.assert_allclose(total["mean"], x64.mean(axis=(0, 2, 3)), rtol=1e-12)
        np.testing.assert_allclose(total["var"], x64.var(axis=(0, 2, 3)), rtol=1e-12)
        np.testing.assert_allclose(total["var_unbiased"], x64.var(axis=(0, 2, 3), ddof=1), rtol=1e-12)
        self.assertEqual(total["count"], [6400] * 3)

    def test_merge_in_any_order_and_grouping(self):
        for i in range(SHARDS):
            self.shell(f"bnorm stats shards/{i}.npy --partial > p{i}.json")
        self.shell("bnorm merge p0.json p1.json p2.json p3.json p4.json p5.json p6.json p7.json -o a.json")
        self.shell("bnorm merge p7.json p3.json p5.json p1.json -o half1.json")
        self.shell("bnorm merge p0.json p6.json p2.json p4.json -o half2.json")
        self.shell("bnorm merge half2.json half1.json -o b.json")
        a = json.loads(self.path("a.json").read_text())
        b = json.loads(self.path("b.json").read_text())
        for key in ["mean", "m2", "var", "var_unbiased", "min", "max"]:
            np.testing.assert_allclose(a[key], b[key], rtol=1e-13, err_msg=key)
        self.assertEqual(a["count"], b["count"])

    def test_errors(self):
        self.shell("bnorm stats shards/0.npy --partial > p0.json")
        np.save(self.path("two.npy"), np.zeros((4, 2), np.float32))
        self.shell("bnorm stats two.npy --partial > p2.json")
        self.assertFailsWith(self.bnorm("merge", "p0.json", "p2.json", "-o", "t.json"), 3,
                             "p2.json", "channels")
        self.assertFailsWith(self.bnorm("merge", "samples/state.json", "-o", "t.json"), 3,
                             "not partial statistics")
        self.shell("bnorm merge p0.json -o total.json")
        self.assertFailsWith(self.bnorm("apply", "two.npy", "-o", "y.npy", "--batch-stats",
                                        "total.json"), 3, "channels")
        self.assertFailsWith(self.bnorm("apply", "shards/0.npy", "-o", "y.npy", "--mode", "eval",
                                        "--state", "samples/state.json", "--batch-stats",
                                        "total.json"), 2, "eval mode")


if __name__ == "__main__":
    unittest.main()
