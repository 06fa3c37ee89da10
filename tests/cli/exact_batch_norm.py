#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Batch normalization of float64 data in exact arithmetic: the reference that bnorm's float64
output is measured against, in ulps.

The mean and the biased variance of each channel are exact rationals (Python integers over a
power of two); only 1/sqrt(var + eps) is rounded, to 120 significant digits, so the reference
is exact far beyond float64's 17 digits whatever the data's offset or range.

    /usr/bin/python3 tests/cli/exact_batch_norm.py --bnorm build/bnorm

measures bnorm (and torch, when it imports) on the case of issue #11: x = 1e8 + 1e-4·N(0,1),
shape (16, 2, 8), float64.
"""
import decimal
import math
from fractions import Fraction

import numpy as np

PRECISION = 120


def exact_stats(values):
    """(count, mean, biased variance) of a channel's float64 values, as exact Fractions."""
    ratios = [float(v).as_integer_ratio() for v in values]
    scale = max(d for _, d in ratios)  # a power of two: every value is an integer over it
    ints = [n * (scale // d) for n, d in ratios]
    n = len(ints)
    total = sum(ints)
    squares = sum(i * i for i in ints)
    mean = Fraction(total, n * scale)
    var = Fraction(squares * n - total * total, n * n * scale * scale)
    return n, mean, var


class channel_reference:
    """One channel's exact normalization: y(x) = (x − mean)·γ/√(var + eps) + β, with mean and
    var exact (the channel's, or given as running statistics), as a Decimal of PRECISION
    digits."""

    def __init__(self, values, eps, gamma=1.0, beta=0.0, mean=None, var=None):
        if mean is None:
            _, mean, var = exact_stats(values)
        self.mean, self.var = Fraction(mean), Fraction(var)
        self.context = decimal.Context(prec=PRECISION)
        total = self.var + Fraction(eps)
        root = self.context.sqrt(self._decimal(total))
        self.factor = self.context.divide(self._decimal(Fraction(gamma)), root)
        self.beta = decimal.Decimal(float(beta))

    def _decimal(self, fraction):
        return self.context.divide(decimal.Decimal(fraction.numerator),
                                   decimal.Decimal(fraction.denominator))

    def y(self, x):
        d = Fraction(float(x)) - self.mean  # exact
        return self.context.add(self.context.multiply(self._decimal(d), self.factor), self.beta)


def exact_batch_norm(x, axis=1, eps=1e-5, weight=None, bias=None):
    """The exact normalization of every value of x (float64), as Decimals in an object array
    shaped like x, and the exact (mean, var) of each channel as Fractions."""
    x = np.asarray(x, dtype=np.float64)
    moved = np.moveaxis(x, axis, 0)
    flat = moved.reshape(moved.shape[0], -1)
    out = np.empty(flat.shape, dtype=object)
    stats = []
    for c in range(flat.shape[0]):
        ref = channel_reference(flat[c], eps, 1.0 if weight is None else weight[c],
                                0.0 if bias is None else bias[c])
        stats.append((ref.mean, ref.var))
        out[c] = [ref.y(v) for v in flat[c]]
    return np.moveaxis(out.reshape(moved.shape), 0, axis), stats


def ulp_errors(actual, exact):
    """|actual − exact| in ulps of max(|exact|, 1), elementwise (floats; inf for NaN)."""
    actual = np.asarray(actual, dtype=np.float64).ravel()
    errors = np.empty(actual.size)
    for i, (a, e) in enumerate(zip(actual, np.asarray(exact).ravel())):
        if not math.isfinite(a):
            errors[i] = math.inf
            continue
        unit = math.ulp(max(abs(float(e)), 1.0))
        errors[i] = float(abs(decimal.Decimal(float(a)) - e) / decimal.Decimal(unit))
    return errors


def ulps_of(actual, exact):
    """|actual − exact| in ulps of the double nearest `exact` (a Fraction or Decimal)."""
    nearest = float(exact)
    unit = math.ulp(nearest) if nearest != 0 else math.ulp(0.0)
    try:
        return float(abs(Fraction(float(actual)) - Fraction(exact)) / Fraction(unit))
    except OverflowError:
        return math.inf


def issue_case():
    """The case of issue #11: 1e8 + 1e-4·N(0,1), (16, 2, 8), float64."""
    return 1e8 + 1e-4 * np.random.default_rng(0).normal(size=(16, 2, 8))


def main():
    import argparse
    import pathlib
    import subprocess
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bnorm", required=True)
    args = parser.parse_args()
    x = issue_case()
    exact, _ = exact_batch_norm(x)
    with tempfile.TemporaryDirectory() as folder:
        src, dst = pathlib.Path(folder, "x.npy"), pathlib.Path(folder, "y.npy")
        np.save(src, x)
        subprocess.run([args.bnorm, "apply", str(src), "-o", str(dst)], check=True)
        results = {"bnorm": np.load(dst)}
    try:
        import torch
        results["torch"] = torch.nn.functional.batch_norm(
            torch.from_numpy(x), None, None, training=True, eps=1e-5).numpy()
    except ImportError:
        pass
    reference = np.vectorize(float)(exact)
    for name, y in results.items():
        errors = ulp_errors(y, exact)
        print(f"{name}: max |y − exact| {np.max(np.abs(y - reference)):.3g}, "
              f"max {errors.max():.3g} ulp, median {np.median(errors):.3g} ulp")


if __name__ == "__main__":
    main()
