#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Golden cases for the tf-fused, caffe and flax conventions, from each framework's documented
formulas written out in NumPy float64 (none of these frameworks is packaged by Debian).

- TF fused (tf.compat.v1.nn.fused_batch_norm, tf.keras fused=True): y with the biased batch
  variance; running = (1 − f)·old + f·batch with exponential_avg_factor f = 1 − momentum; the
  running variance is fed var·n/max(n − 1, 1); epsilon below 1.001e-5 is raised to it; 4-D
  and 5-D input only.
- Caffe's BatchNorm layer: blobs mean, variance and a scale factor s, all starting at 0; per
  training step s ← m·s + 1, mean ← m·mean + μ, variance ← m·variance + σ²·n/(n − 1) (n > 1);
  inference uses mean/s and variance/s; no scale or shift.  Written here with the blobs,
  independently of bnorm's normalized form.
- Flax linen's BatchNorm: var = max(0, E[x²] − E[x]²) (use_fast_variance), running =
  m·old + (1 − m)·batch with momentum 0.99, axis −1.

Writes tests/golden/cases/{tf_fused,caffe,flax}_*/ in run_case.py's format.  Deterministic.
"""
import json
import pathlib
import shutil

import numpy as np

CASES = pathlib.Path(__file__).resolve().parent / "cases"
REFERENCE = "expected values from the documented formulas in NumPy float64 (make_convention_goldens.py)"


def moments(x, axis):
    """Per-channel mean and biased variance in float64, and the values per channel."""
    axes = tuple(d for d in range(x.ndim) if d != axis % x.ndim)
    x64 = x.astype(np.float64)
    return x64.mean(axis=axes), x64.var(axis=axes), x.size // x.shape[axis]


def normalize(x, axis, mean, var, eps, weight=None, bias=None):
    shape = [1] * x.ndim
    shape[axis % x.ndim] = -1
    y = (x.astype(np.float64) - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)
    if weight is not None:
        y = y * np.asarray(weight).reshape(shape) + np.asarray(bias).reshape(shape)
    return y.astype(x.dtype)


class Case:
    def __init__(self, name, guards):
        self.name, self.guards, self.steps = name, guards, []
        self.folder = CASES / name
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)

    def save(self, file, array):
        np.save(self.folder / file, array)

    def step(self, args, outputs=(), status=0, stderr=()):
        self.steps.append({"args": args, "status": status, "stderr_contains": list(stderr),
                           "outputs": [dict(o) for o in outputs]})

    def expect_json(self, file, document):
        (self.folder / file).write_text(json.dumps(document, indent=1) + "\n")

    def write(self):
        case = {"name": self.name, "guards": self.guards, "steps": self.steps,
                "reference": REFERENCE}
        (self.folder / "case.json").write_text(json.dumps(case, indent=1) + "\n")


def output(file, expected, rtol, atol):
    return {"file": file, "expected": expected, "rtol": rtol, "atol": atol}


def tf_fused(rng):
    case = Case("tf_fused_train_chain",
                "TF fused: NHWC, eps 1e-3, running var fed var*n/(n-1), factor 1 - 0.99, two batches")
    running_mean, running_var = np.zeros(3), np.ones(3)
    for i in range(2):
        x = rng.normal(2.0 * i, 1.0 + i, size=(4, 5, 5, 3)).astype(np.float32)
        case.save(f"x{i}.npy", x)
        mean, var, n = moments(x, -1)
        case.save(f"y{i}.expected.npy", normalize(x, -1, mean, var, 1e-3))
        f = 1 - 0.99
        running_mean = (1 - f) * running_mean + f * mean
        running_var = (1 - f) * running_var + f * var * n / max(n - 1, 1)
        case.expect_json(f"s{i}.expected.json", {
            "convention": "tf-fused", "eps": 1e-3, "axis": 3, "mean": mean.tolist(),
            "var": var.tolist(), "running_mean": running_mean.tolist(),
            "running_var": running_var.tolist(), "num_batches_tracked": i + 1})
        state = ["--state", f"s{i - 1}.json"] if i else []
        case.step(["apply", f"x{i}.npy", "-o", f"y{i}.npy", "--convention", "tf-fused", *state,
                   "--stats-out", f"s{i}.json"],
                  [output(f"y{i}.npy", f"y{i}.expected.npy", 1e-5, 1e-5),
                   output(f"s{i}.json", f"s{i}.expected.json", 1e-10, 1e-12)])
    case.write()

    case = Case("tf_fused_eps_clamp", "TF fused raises an epsilon below 1.001e-5 to it")
    x = rng.normal(size=(2, 3, 3, 2)).astype(np.float64) * 1e-3  # small variance: eps matters
    case.save("x.npy", x)
    mean, var, _ = moments(x, -1)
    case.save("y.expected.npy", normalize(x, -1, mean, var, 1.001e-5))
    case.expect_json("s.expected.json", {"eps": 1.001e-5})
    case.step(["apply", "x.npy", "-o", "y.npy", "--convention", "tf-fused", "--eps", "1e-9",
               "--stats-out", "s.json"],
              [output("y.npy", "y.expected.npy", 1e-10, 1e-12),
               output("s.json", "s.expected.json", 1e-15, 0)])
    case.write()

    case = Case("tf_fused_rank_error", "TF's fused kernel takes 4-D and 5-D input only")
    case.save("x.npy", rng.normal(size=(4, 3)).astype(np.float32))
    case.step(["apply", "x.npy", "-o", "y.npy", "--convention", "tf-fused"], status=3,
              stderr=["tf-fused convention takes 4-D to 5-D input"])
    case.steps[-1]["absent"] = ["y.npy"]
    case.write()


def caffe(rng):
    case = Case("caffe_chain_three_batches",
                "Caffe: moving_average_fraction 0.999 with the scale factor, no affine, then eval")
    maf, eps = 0.999, 1e-5
    mean_blob, var_blob, scale = np.zeros(3), np.zeros(3), 0.0
    for i in range(3):
        x = rng.normal(1.0 - i, 0.5 + i, size=(4, 3, 5, 5)).astype(np.float32)
        case.save(f"x{i}.npy", x)
        mean, var, n = moments(x, 1)
        case.save(f"y{i}.expected.npy", normalize(x, 1, mean, var, eps))
        scale = maf * scale + 1
        mean_blob = maf * mean_blob + mean
        var_blob = maf * var_blob + var * (n / (n - 1) if n > 1 else 1)
        case.expect_json(f"s{i}.expected.json", {
            "convention": "caffe", "affine": False, "mean": mean.tolist(), "var": var.tolist(),
            "running_mean": (mean_blob / scale).tolist(),
            "running_var": (var_blob / scale).tolist(), "num_batches_tracked": i + 1})
        state = ["--state", f"s{i - 1}.json"] if i else []
        case.step(["apply", f"x{i}.npy", "-o", f"y{i}.npy", "--convention", "caffe", *state,
                   "--stats-out", f"s{i}.json"],
                  [output(f"y{i}.npy", f"y{i}.expected.npy", 1e-5, 1e-5),
                   output(f"s{i}.json", f"s{i}.expected.json", 1e-10, 1e-12)])
    x = rng.normal(size=(2, 3, 4, 4)).astype(np.float32)
    case.save("xe.npy", x)
    case.save("ye.expected.npy", normalize(x, 1, mean_blob / scale, var_blob / scale, eps))
    case.step(["apply", "xe.npy", "-o", "ye.npy", "--convention", "caffe", "--mode", "eval",
               "--state", "s2.json"], [output("ye.npy", "ye.expected.npy", 1e-5, 1e-5)])
    case.write()


def flax(rng):
    case = Case("flax_train_channels_last",
                "Flax: fast variance max(0, E[x^2] - E[x]^2), momentum 0.99, eps 1e-5, axis -1")
    x = rng.normal(0.5, 2.0, size=(6, 4, 4, 5)).astype(np.float32)
    case.save("x.npy", x)
    x64 = x.astype(np.float64)
    axes = (0, 1, 2)
    mean = x64.mean(axis=axes)
    var = np.maximum(0.0, (x64 ** 2).mean(axis=axes) - mean ** 2)
    case.save("y.expected.npy", normalize(x, -1, mean, var, 1e-5))
    case.expect_json("s.expected.json", {
        "convention": "flax", "eps": 1e-5, "axis": 3, "mean": mean.tolist(), "var": var.tolist(),
        "running_mean": (0.99 * 0 + 0.01 * mean).tolist(),
        "running_var": (0.99 * 1 + 0.01 * var).tolist(), "num_batches_tracked": 1})
    case.step(["apply", "x.npy", "-o", "y.npy", "--convention", "flax", "--stats-out", "s.json"],
              [output("y.npy", "y.expected.npy", 1e-5, 1e-5),
               output("s.json", "s.expected.json", 1e-9, 1e-12)])
    case.write()


def ghost_batch_norm(x, k, eps, weight, bias):
    """tf.keras BatchNormalization(virtual_batch_size=k), channels last: the batch is reshaped
    to (k, N/k, ...) and the moments reduced over axis 0 and the inner axes, so virtual batch g
    holds samples g, g + N/k, g + 2N/k, ...; running statistics take the mean over the N/k
    virtual batches of their moments (Keras 3 has no virtual_batch_size)."""
    groups = x.astype(np.float64).reshape((k, -1) + x.shape[1:])
    axes = (0,) + tuple(range(2, groups.ndim - 1))
    means, variances = groups.mean(axis=axes), groups.var(axis=axes)  # (N/k, channels)
    shape = (1, means.shape[0]) + (1,) * (groups.ndim - 3) + (means.shape[1],)
    y = (groups - means.reshape(shape)) / np.sqrt(variances.reshape(shape) + eps)
    y = y * np.array(weight) + np.array(bias)
    return y.reshape(x.shape).astype(x.dtype), means.mean(axis=0), variances.mean(axis=0)


def keras_virtual_batches(rng):
    case = Case("keras_virtual_batches",
                "Keras ghost batch norm (tf.keras virtual_batch_size): virtual batches of k "
                "strided samples, each normalized with its own statistics, for k = 2, 1 and N; "
                "running statistics updated once with their average; k > N or not dividing N "
                "is refused")
    x = rng.normal(1.0, 2.0, size=(8, 4, 4, 3)).astype(np.float32)
    x[2:4] += 5.0  # virtual batches that differ, so that sharing statistics would show
    x[5] -= 3.0
    case.save("x.npy", x)
    state = {"weight": [1.5, 0.5, -1.0], "bias": [0.0, 1.0, 2.0]}
    (case.folder / "state.json").write_text(json.dumps(state) + "\n")
    whole_mean, whole_var, _ = moments(x, -1)
    for k in (2, 1, 8):
        y, mean, var = ghost_batch_norm(x, k, 1e-3, state["weight"], state["bias"])
        case.save(f"y{k}.expected.npy", y)
        case.expect_json(f"s{k}.expected.json", {
            "convention": "keras", "virtual_batch_size": k, "mean": whole_mean.tolist(),
            "var": whole_var.tolist(),
            "running_mean": (0.99 * 0 + 0.01 * mean).tolist(),
            "running_var": (0.99 * 1 + 0.01 * var).tolist(),
            "num_batches_tracked": 1})
        case.step(["apply", "x.npy", "-o", f"y{k}.npy", "--convention", "keras", "--state",
                   "state.json", "--virtual-batch-size", str(k), "--stats-out", f"s{k}.json"],
                  [output(f"y{k}.npy", f"y{k}.expected.npy", 1e-5, 1e-5),
                   output(f"s{k}.json", f"s{k}.expected.json", 1e-10, 1e-12)])
    for k in (3, 9):  # tf.keras's reshape to (k, -1, ...) fails unless k divides N
        case.step(["apply", "x.npy", "-o", f"y{k}.npy", "--convention", "keras",
                   "--virtual-batch-size", str(k)], status=3,
                  stderr=["does not split into", "must divide the batch size"])
        case.steps[-1]["absent"] = [f"y{k}.npy"]
    case.write()


def main():
    rng = np.random.default_rng(4242)
    tf_fused(rng)
    caffe(rng)
    flax(rng)
    keras_virtual_batches(rng)


if __name__ == "__main__":
    main()
