#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Golden cases for degenerate parameters: eps 0 on a zero-variance channel, empty batches, a
batch without channels, and a fold that would write an infinite weight.

    /usr/bin/python3 tests/golden/make_degenerate_goldens.py

Writes tests/golden/cases/degenerate_*/ in run_case.py's format, with make_goldens.py's
helpers.  Where the expected values come from (never from bnorm, never typed by hand):
  * torch: the real torch.nn.BatchNorm1d/2d modules (make_goldens.torch_bn), and autograd
    for the gradients.  PyTorch's InvStd gives invstd 0 when the batch variance and eps are
    both 0 (so y = beta, gradients 0); in eval mode 1/sqrt(running_var + eps) is inf and its
    CPU kernel computes y = x*(w*invstd) + (b - mean*w*invstd), NaN or +-inf.
  * keras: Keras 3's formulas in NumPy float64 (make_goldens.keras_bn), the same linear form.
  * onnx: ONNX's reference formula s*(x - mean)/sqrt(var + eps) + B (make_goldens.onnx_bn).
  * an empty batch: what torch.nn.BatchNorm2d does with shape (0, C, H, W): an empty output,
    the running statistics unchanged and num_batches_tracked counted; its statistics are
    NumPy's mean and var of no values (NaN), with NaN for the extremes of no values.
Deterministic: rerunning rewrites the same files.
"""
import shutil
import warnings

import numpy as np
import torch

import make_goldens as mg
from make_goldens import Case, stats_output, y_output

PREFIX = "degenerate_"


def new_case(name, guards):
    shutil.rmtree(mg.CASES / name, ignore_errors=True)
    return Case(name, guards)


def constant_channel_input(rng, shape, dtype, constant_channels):
    x = rng.normal(1.0, 2.0, size=shape)
    for c in constant_channels:
        x[:, c] = 0.75  # exactly representable: variance exactly 0 in any precision
    return x.astype(dtype)


def torch_eps0_train(rng, name, shape, dtype):
    case = new_case(name, f"torch training, eps 0, zero-variance channels, {np.dtype(dtype).name} "
                          f"{shape}: invstd 0 (PyTorch's InvStd), y = beta there")
    channels = shape[1]
    x = constant_channel_input(rng, shape, dtype, [0, channels - 1])
    state = mg.random_state(rng, channels, nbt=1)
    case.npy("x.npy", x)
    case.json("state.json", state)
    y, _ = mg.torch_bn(x, compute=dtype, train=True, eps=0.0, state=state)
    # The running statistics from a float64 module: bnorm keeps them in double (make_goldens).
    _, after = mg.torch_bn(x, compute=np.float64, train=True, eps=0.0, state=state)
    stats = mg.expected_stats(x, convention="torch", mode="train", eps=0.0, momentum=0.1, axis=1,
                              after=after)
    case.step(["apply", "x.npy", "-o", "y.npy", "--eps", "0", "--state", "state.json",
               "--stats-out", "stats.json"],
              outputs=[y_output(case, "y.npy", "y.expected.npy", y, dtype),
                       stats_output(case, "stats.json", "stats.expected.json", stats)])
    case.write()


def eval_state(rng, channels):
    """running_var 0 on channels 0 and 2; running_mean 0 on channel 0 and not on channel 2."""
    state = mg.random_state(rng, channels)
    state["running_var"][0] = 0.0
    state["running_var"][2] = 0.0
    state["running_mean"][0] = 0.0
    state["running_mean"][2] = 1.5
    state["weight"][2] = -abs(state["weight"][2])
    return state


def eval_input(rng, shape, dtype):
    x = rng.normal(1.0, 2.0, size=shape)
    for c in (0, 2):  # the running mean itself, 0, and values on either side of both
        x[(slice(0, 4), c) + (0,) * (len(shape) - 2)] = [1.5, 0.0, -1.0, 2.5]
    return x.astype(dtype)


def torch_eps0_eval(rng, name, shape, dtype):
    case = new_case(name, f"torch eval, eps 0, running_var 0 on two channels, "
                          f"{np.dtype(dtype).name} {shape}: PyTorch's NaN and +-inf there")
    channels = shape[1]
    state = eval_state(rng, channels)
    x = eval_input(rng, shape, dtype)
    case.npy("x.npy", x)
    case.json("state.json", state)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y, _ = mg.torch_bn(x, compute=dtype, train=False, eps=0.0, state=state)
    case.step(["apply", "x.npy", "-o", "y.npy", "--mode", "eval", "--eps", "0", "--state",
               "state.json"], outputs=[y_output(case, "y.npy", "y.expected.npy", y, dtype)])
    case.write()


def formula_eps0(rng):
    case = new_case(f"{PREFIX}keras_onnx_eps0_zero_var",
                    "keras and onnx with eps 0 and a zero variance, train and eval: each "
                    "framework's own formula (Keras's linear x*inv + (beta - mean*inv), "
                    "ONNX's centred s*(x - mean)/sqrt(var + eps) + B), NaN and +-inf included")
    shape = (4, 3, 2, 2)
    state = eval_state(rng, 3)
    case.json("state.json", state)
    for convention in ("keras", "onnx"):
        x = eval_input(rng, shape, np.float64)
        x[:, 1] = 0.75  # a constant channel for training
        if convention == "keras":
            x = np.ascontiguousarray(np.moveaxis(x, 1, -1))
        case.npy(f"x_{convention}.npy", x)
        reference = mg.keras_bn if convention == "keras" else mg.onnx_bn
        with np.errstate(divide="ignore", invalid="ignore"):
            y_train, _ = reference(x, train=True, eps=0.0, state=state)
            y_eval, _ = reference(x, train=False, eps=0.0, state=state)
        base = [f"x_{convention}.npy", "--convention", convention, "--eps", "0", "--state",
                "state.json"]
        for mode, y in (("train", y_train), ("eval", y_eval)):
            produced = f"y_{convention}_{mode}.npy"
            case.step(["apply"] + base + ["-o", produced, "--mode", mode],
                      outputs=[y_output(case, produced, produced.replace(".npy", ".expected.npy"),
                                        y, np.float64)])
    case.write()


def torch_gradients(x, g, state, train, eps):
    module = mg.BN_CLASSES[x.ndim](x.shape[1], eps=eps).double()
    with torch.no_grad():
        for key in ("weight", "bias", "running_mean", "running_var"):
            getattr(module, key).copy_(torch.tensor(state[key], dtype=torch.float64))
    module.train(train)
    xt = torch.from_numpy(x).clone().requires_grad_()
    module(xt).backward(torch.from_numpy(g))
    return xt.grad.numpy(), {"grad_weight": module.weight.grad.tolist(),
                             "grad_bias": module.bias.grad.tolist()}


def backward_eps0(rng):
    case = new_case(f"{PREFIX}backward_eps0",
                    "torch backward with eps 0: zero-variance channels in training give zero "
                    "gradients (invstd 0); running_var 0 in eval gives PyTorch's inf and NaN")
    shape = (4, 3, 2, 2)
    x = constant_channel_input(rng, shape, np.float64, [1])
    x_eval = eval_input(rng, shape, np.float64)
    g = rng.normal(size=shape)
    g[0, 0, 0, 0] = 0.0  # a zero gradient meets an infinite invstd: NaN, as in PyTorch
    state = eval_state(rng, 3)
    case.npy("x.npy", x)
    case.npy("xe.npy", x_eval)
    case.npy("g.npy", g)
    case.json("state.json", state)
    gi, grads = torch_gradients(x, g, state, True, 0.0)
    gi_eval, grads_eval = torch_gradients(x_eval, g, state, False, 0.0)
    tolerance = {"rtol": 1e-10, "atol": 1e-12}
    for mode, xs, gi_, grads_ in (("train", "x.npy", gi, grads),
                                  ("eval", "xe.npy", gi_eval, grads_eval)):
        case.step(["backward", xs, "--grad-output", "g.npy", "-o", f"gi_{mode}.npy",
                   "--grads-out", f"grads_{mode}.json", "--mode", mode, "--eps", "0",
                   "--state", "state.json"],
                  outputs=[y_output(case, f"gi_{mode}.npy", f"gi_{mode}.expected.npy", gi_,
                                    np.float64, tolerance=tolerance),
                           dict(stats_output(case, f"grads_{mode}.json",
                                             f"grads_{mode}.expected.json",
                                             {"mode": mode, **grads_}), **tolerance)])
    case.write()


def fold_eps0(rng):
    case = new_case(f"{PREFIX}fold_eps0_refused",
                    "fold with running_var + eps = 0 would write an infinite or NaN weight: "
                    "exit 3, nothing written")
    state = eval_state(rng, 3)
    case.npy("w.npy", rng.normal(size=(3, 5)))
    case.json("state.json", state)
    case.step(["fold", "w.npy", "--eps", "0", "--state", "state.json", "-o", "wf.npy",
               "--bias-out", "bf.npy"],
              status=3, stderr_contains=["state.json", "channel 0", "running_var + eps is 0"],
              absent=["wf.npy", "bf.npy"])
    case.write()


def empty_stats(channels, after, *, momentum):
    nan = float("nan")
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        none = np.zeros((0, channels))
        mean, var = none.mean(axis=0).tolist(), none.var(axis=0).tolist()
        var_unbiased = none.var(axis=0, ddof=1).tolist()
    doc = {"convention": "torch", "mode": "train", "eps": 1e-5, "momentum": momentum, "axis": 1,
           "num_features": channels, "count": 0, "mean": mean, "var": var,
           "var_unbiased": var_unbiased,
           "min": [nan] * channels, "max": [nan] * channels}
    doc.update(after)
    return doc


def torch_empty_batch(rng):
    case = new_case(f"{PREFIX}torch_empty_batch",
                    "torch on shape (0, 3, 4, 4): empty output; running statistics as they were, "
                    "num_batches_tracked counted (momentum 0.1 and none); eval too")
    x = np.zeros((0, 3, 4, 4), dtype=np.float32)
    state = mg.random_state(rng, 3, nbt=2)
    case.npy("x.npy", x)
    case.json("state.json", state)
    for momentum, flag in ((0.1, "0.1"), (None, "none")):
        y, after = mg.torch_bn(x, compute=np.float32, train=True, momentum=momentum, state=state)
        tag = flag.replace(".", "")
        case.step(["apply", "x.npy", "-o", f"y{tag}.npy", "--state", "state.json", "--momentum",
                   flag, "--stats-out", f"stats{tag}.json"],
                  outputs=[y_output(case, f"y{tag}.npy", f"y{tag}.expected.npy", y, np.float32),
                           stats_output(case, f"stats{tag}.json", f"stats{tag}.expected.json",
                                        empty_stats(3, after, momentum=momentum))])
    y, _ = mg.torch_bn(x, compute=np.float32, train=False, state=state)
    case.step(["apply", "x.npy", "-o", "ye.npy", "--mode", "eval", "--state", "state.json"],
              outputs=[y_output(case, "ye.npy", "ye.expected.npy", y, np.float32)])
    # (N, C) with N = 0, and float64.
    x2 = np.zeros((0, 2))
    case.npy("x2.npy", x2)
    y2, _ = mg.torch_bn(x2, compute=np.float64, train=True)
    case.step(["apply", "x2.npy", "-o", "y2.npy"],
              outputs=[y_output(case, "y2.npy", "y2.expected.npy", y2, np.float64)])
    case.write()


def other_empty_batch(rng):
    case = new_case(f"{PREFIX}keras_empty_batch",
                    "keras/onnx training on an empty batch would average no values into NaN "
                    "running statistics: exit 3 and nothing written; eval is an empty output")
    x = np.zeros((0, 4, 4, 3), dtype=np.float32)
    case.npy("x.npy", x)
    y, _ = mg.keras_bn(x, train=False)
    case.step(["apply", "x.npy", "-o", "y.npy", "--convention", "keras", "--stats-out", "s.json"],
              status=3, stderr_contains=["empty batch", "keras", "NaN"], absent=["y.npy", "s.json"])
    case.step(["apply", "x.npy", "-o", "y.npy", "--convention", "onnx", "--axis", "-1"],
              status=3, stderr_contains=["empty batch", "onnx"], absent=["y.npy"])
    case.step(["apply", "x.npy", "-o", "ye.npy", "--convention", "keras", "--mode", "eval",
               "--state", "state.json"],
              outputs=[y_output(case, "ye.npy", "ye.expected.npy", y, np.float32)])
    case.json("state.json", mg.full_state(3, None))
    case.write()


def backward_empty_batch(rng):
    case = new_case(f"{PREFIX}backward_empty_batch",
                    "torch backward on shape (0, 3, 2, 2): empty grad_input, zero parameter "
                    "gradients, as autograd gives")
    x = np.zeros((0, 3, 2, 2))
    state = mg.full_state(3, mg.random_state(rng, 3))
    case.npy("x.npy", x)
    case.npy("g.npy", x.copy())
    case.json("state.json", state)
    gi, grads = torch_gradients(x, x.copy(), state, True, 1e-5)
    case.step(["backward", "x.npy", "--grad-output", "g.npy", "-o", "gi.npy", "--grads-out",
               "grads.json", "--state", "state.json"],
              outputs=[y_output(case, "gi.npy", "gi.expected.npy", gi, np.float64),
                       stats_output(case, "grads.json", "grads.expected.json", grads)])
    case.write()


def no_channels(rng):
    case = new_case(f"{PREFIX}no_channels",
                    "a batch with 0 channels (PyTorch fails with an index error): exit 3")
    case.npy("x.npy", np.zeros((4, 0, 2), dtype=np.float32))
    case.step(["apply", "x.npy", "-o", "y.npy"], status=3,
              stderr_contains=["x.npy", "no channels"], absent=["y.npy"])
    case.step(["stats", "x.npy"], status=3, stderr_contains=["no channels"])
    case.write()


def main():
    torch.set_num_threads(1)
    rng = np.random.default_rng(1111)
    torch_eps0_train(rng, f"{PREFIX}torch_eps0_train_float32", (4, 3, 3, 3), np.float32)
    torch_eps0_train(rng, f"{PREFIX}torch_eps0_train_float64", (6, 3), np.float64)
    torch_eps0_eval(rng, f"{PREFIX}torch_eps0_eval_float32", (4, 3, 3, 3), np.float32)
    torch_eps0_eval(rng, f"{PREFIX}torch_eps0_eval_float64", (6, 3), np.float64)
    formula_eps0(rng)
    backward_eps0(rng)
    fold_eps0(rng)
    torch_empty_batch(rng)
    other_empty_batch(rng)
    backward_empty_batch(rng)
    no_channels(rng)


if __name__ == "__main__":
    main()
