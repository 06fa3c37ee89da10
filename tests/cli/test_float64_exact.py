# SPDX-License-Identifier: Apache-2.0
"""float64 output is within 1 ulp of the exact batch normalization (ulps of max(|y|, 1)), and
--stats-out's float64 mean and var within 1 ulp of the exact ones, on adversarial data:
large offsets with tiny spreads, mixed magnitudes, values that cancel, constant channels,
every layout, runs longer than a chunk and the multi-threaded pass.  The reference is exact
arithmetic in Python (exact_batch_norm.py).

BNORM_LARGE_GRID=1 runs more offsets, spreads and seeds, larger tensors, and checks every
value of the multi-threaded case instead of a sample."""
import json
import math
import os
import unittest
from fractions import Fraction

import numpy as np

from cli_support import ScratchTestCase
from exact_batch_norm import channel_reference, exact_batch_norm, ulp_errors, ulps_of

LARGE = os.environ.get("BNORM_LARGE_GRID") == "1"
MOST_ULPS = 1.0
SAMPLE = 4000  # values checked against the reference per large case (all with LARGE)


def noisy(rng, shape, offset, spread):
    return offset + spread * rng.normal(size=shape)


def ulp_steps(rng, shape, offset, steps):
    """offset plus whole numbers of its ulps: a spread at the last digit of a huge offset."""
    return offset + math.ulp(offset) * rng.integers(-steps, steps + 1, size=shape)


class Float64Exact(ScratchTestCase):
    worst = 0.0
    checked = 0

    @classmethod
    def tearDownClass(cls):
        print(f"\n{cls.checked} values, worst {cls.worst:.3g} ulp (limit {MOST_ULPS})")

    def normalize(self, x, axis=1, eps=1e-5, weight=None, bias=None, eval_stats=None):
        """Runs bnorm on x; checks y and the batch statistics against the exact reference."""
        x = np.asarray(x, dtype=np.float64)
        src, dst, stats = self.path("x.npy"), self.path("y.npy"), self.path("s.json")
        np.save(src, x)
        args = ["apply", src, "-o", dst, "--axis", str(axis), "--eps", repr(eps),
                "--stats-out", stats]
        channels = x.shape[axis]
        state = {}
        if weight is not None:
            state.update(weight=list(map(float, weight)), bias=list(map(float, bias)))
        if eval_stats is not None:
            state.update(running_mean=list(map(float, eval_stats[0])),
                         running_var=list(map(float, eval_stats[1])))
            args += ["--mode", "eval"]
        if state:
            self.path("state.json").write_text(json.dumps(state))
            args += ["--state", self.path("state.json")]
        result = self.bnorm(*args)
        self.assertEqual(result.status, 0, result)
        y = np.load(dst)
        self.assertEqual(y.dtype, np.float64)
        document = json.loads(stats.read_text())
        xs = np.moveaxis(x, axis, 0).reshape(channels, -1)
        ys = np.moveaxis(y, axis, 0).reshape(channels, -1)
        for c in range(channels):
            given = {} if eval_stats is None else dict(mean=eval_stats[0][c], var=eval_stats[1][c])
            ref = channel_reference(xs[c], eps, 1.0 if weight is None else weight[c],
                                    0.0 if bias is None else bias[c], **given)
            batch = ref if eval_stats is None else channel_reference(xs[c], eps)
            for key, exact in (("mean", batch.mean), ("var", batch.var)):
                error = ulps_of(document[key][c], exact)
                if key == "mean" and error > MOST_ULPS:
                    # Double-double keeps 2^-104 of the values' size: a mean that they cancel
                    # to less than that (±3e-200 beside 1e-320) is exact only to that.
                    size = Fraction(float(np.max(np.abs(xs[c]))))
                    if abs(Fraction(document[key][c]) - exact) <= size * Fraction(2) ** -104:
                        continue
                self.assertLessEqual(error, MOST_ULPS, f"channel {c} {key} {document[key][c]!r} "
                                     f"vs exact {float(exact)!r}")
            indices = range(xs.shape[1])
            if not LARGE and len(indices) > SAMPLE:
                indices = np.random.default_rng(c).choice(len(indices), SAMPLE, replace=False)
            for i in indices:
                exact = ref.y(xs[c, i])
                unit = math.ulp(max(abs(float(exact)), 1.0))
                error = float(abs(exact - type(exact)(float(ys[c, i])))) / unit
                Float64Exact.worst = max(Float64Exact.worst, error)
                Float64Exact.checked += 1
                self.assertLessEqual(error, MOST_ULPS,
                                     f"channel {c} value {i}: x {xs[c, i]!r} y {ys[c, i]!r} "
                                     f"exact {exact:.25g}")
        return y

    def test_large_offsets(self):
        rng = np.random.default_rng(1)
        self.normalize(noisy(rng, (16, 2, 8), 1e8, 1e-4))  # issue #11's case
        offsets = [1e4, 1e8, 1e12, -1e15] + ([3.5e10, -7e13, 1e16, 2.0**60] if LARGE else [])
        for offset in offsets:
            for spread in [1e-10, 1e-14] + ([1e-6, 1e-12, 1e-15] if LARGE else []):
                with self.subTest(offset=offset, spread=spread):
                    self.normalize(noisy(rng, (6, 3, 5), offset, abs(offset) * spread))

    def test_spread_in_the_last_digits(self):
        rng = np.random.default_rng(2)
        for offset in [1e15, -1e150, 7.25e-100] + ([1e100, -3e120, 3e-130] if LARGE else []):
            for steps in [1, 50] + ([3, 1000] if LARGE else []):
                with self.subTest(offset=offset, steps=steps):
                    x = ulp_steps(rng, (5, 2, 6), offset, steps)
                    eps = 1e-5 if abs(offset) > 1 else math.ulp(offset) ** 2 / 8
                    self.normalize(x, eps=eps)

    def test_constant_channels_give_beta(self):
        x = np.empty((6, 3, 4))
        x[:, 0] = -1e300
        x[:, 1] = 0.1
        x[:, 2] = 1e8 + np.random.default_rng(3).normal(size=(6, 4))
        y = self.normalize(x, weight=[2.0, -3.0, 0.5], bias=[0.25, -1e8, 7.0])
        self.assertTrue(np.all(y[:, 0] == 0.25) and np.all(y[:, 1] == -1e8))

    def test_mixed_magnitudes(self):
        # 1e-300 beside 1e300 has a variance beyond float64 (about 2e599: torch's var is inf
        # and its y is β), so the widest mix that keeps one is about 1e150; beside it the tiny
        # values differ from each other below the last digit of their y.
        x = np.array([[1e-300, 1.0, -3e-200], [1e150, 2.5, 5e-324], [-1e-300, -1.0, 1e-320],
                      [1e-300, 4.0, 0.0], [2e-300, 1e-8, 3e-200]])
        self.normalize(x)

    def test_values_that_cancel(self):
        rng = np.random.default_rng(4)
        half = noisy(rng, (8, 3), 1e8, 1e-3)
        self.normalize(np.concatenate([half, -half]))  # mean exactly 0, |x| ≈ 1e8
        sums_to_zero = np.array([[1e16, 3.0], [1.0, -1e-16], [-1e16, 1e-16], [-1.0, -3.0]])
        self.normalize(sums_to_zero, eps=1e-30)

    def test_mean_representable_or_not(self):
        self.normalize(np.array([[1.0, 0.0], [2.0, 0.0], [3.0, 1.0]]) + 1e10)  # 2 and 1/3
        self.normalize(np.array([[0.1, 0.7], [0.2, 0.7], [0.3, 0.1]]))

    def test_layouts(self):
        rng = np.random.default_rng(5)
        x = noisy(rng, (4, 5, 3), 1e9, 1e-5)
        self.normalize(x, axis=-1)  # channels last
        self.normalize(x, axis=1)
        self.normalize(x.reshape(20, 3), axis=1)  # (N, C)
        self.normalize(np.asfortranarray(x), axis=2)
        # Four or more channels last: four at a time where they do not wrap, one by one where
        # they do; chunks of 65,536 values end anywhere in a row.
        self.normalize(noisy(rng, (7, 3, 5), -1e9, 1e-5), axis=-1)
        self.normalize(noisy(rng, (40, 8), 1e9, 1e-5))
        self.normalize(noisy(rng, (30001, 6), 1e10, 1e-5))

    def test_affine_and_eval(self):
        rng = np.random.default_rng(6)
        x = noisy(rng, (10, 2, 3), 1e8, 1e-4)
        self.normalize(x, weight=[3.7, -1e-3], bias=[0.5, 1e8])
        self.normalize(x, eval_stats=([1e8, 1e8 + 1e-4], [1e-8, 3e-9]))

    def test_runs_longer_than_a_chunk(self):
        rng = np.random.default_rng(7)
        n = 200_000 if LARGE else 70_000  # more than the 65,536 values of a chunk
        self.normalize(noisy(rng, (1, 2, n), -1e12, 1e-3))
        self.normalize(noisy(rng, (n, 2), 1e12, 1e-3))

    def test_multithreaded_pass(self):
        # From 2^20 values on, the pass splits into groups merged with merge().
        rng = np.random.default_rng(8)
        shape = (64, 2, 8192) if LARGE else (16, 2, 2 ** 15)
        self.normalize(noisy(rng, shape, 1e8, 1e-4))
        self.normalize(noisy(rng, (shape[0] * shape[2], 2), -1e8, 1e-4))

    def test_virtual_batches(self):
        # Ghost batch norm: each group of samples normalized exactly with its own statistics.
        # As tf.keras reshapes (12, ...) to (4, 3, ...), virtual batch g holds samples g, g + 3,
        # g + 6 and g + 9.
        x = noisy(np.random.default_rng(10), (12, 2, 5), 1e8, 1e-4)
        np.save(self.path("x.npy"), x)
        result = self.bnorm("apply", self.path("x.npy"), "-o", self.path("y.npy"),
                            "--virtual-batch-size", "4")
        self.assertEqual(result.status, 0, result)
        y = np.load(self.path("y.npy"))
        for g in range(3):
            exact, _ = exact_batch_norm(x[g::3])
            self.assertLessEqual(ulp_errors(y[g::3], exact).max(), MOST_ULPS)

    def test_partial_statistics_merge_exactly(self):
        # stats --partial of float64 shards carries the low parts; merge keeps them, and a
        # batch normalized with the merged statistics (--batch-stats) is exact too.
        rng = np.random.default_rng(9)
        x = noisy(rng, (12, 2, 7), 1e8, 1e-4)
        names = []
        for k, shard in enumerate(np.split(x, 3)):
            np.save(self.path(f"s{k}.npy"), shard)
            result = self.bnorm("stats", self.path(f"s{k}.npy"), "--partial", "--format", "json")
            self.assertEqual(result.status, 0, result)
            self.path(f"p{k}.json").write_bytes(result.stdout)
            names.append(self.path(f"p{k}.json"))
        result = self.bnorm("merge", *names, "-o", self.path("merged.json"))
        self.assertEqual(result.status, 0, result)
        merged = json.loads(self.path("merged.json").read_text())
        for c in range(2):
            ref = channel_reference(x[:, c].ravel(), 1e-5)
            self.assertLessEqual(ulps_of(merged["mean"][c], ref.mean), MOST_ULPS)
            self.assertLessEqual(ulps_of(merged["var"][c], ref.var), MOST_ULPS)


if __name__ == "__main__":
    unittest.main()
