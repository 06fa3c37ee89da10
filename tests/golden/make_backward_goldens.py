#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Golden cases for `bnorm backward`, from PyTorch's autograd (Debian's python3-torch).

Writes tests/golden/cases/backward_*/ in the format run_case.py reads (see README.md here).
Every expected gradient is what torch.autograd computes for torch.nn.BatchNorm{1,2}d with the
case's state loaded, after torch.autograd.gradcheck has confirmed, in float64, that those
gradients are the derivatives of the forward function.  Deterministic: rerunning rewrites the
same bytes.

Tolerances: float64 cases compare to rtol 1e-10 (gradcheck level: bnorm computes in double as
autograd does, in another order); float32 cases to rtol 1e-4, atol 1e-5, since PyTorch's
float32 kernel accumulates in float32 where bnorm uses double.
"""
import json
import pathlib
import shutil

import numpy as np
import torch

HERE = pathlib.Path(__file__).resolve().parent
CASES = HERE / "cases"
REFERENCE = f"expected gradients from torch {torch.__version__} autograd (gradcheck-verified)"


def module_for(x, state, eps, affine, track):
    cls = {2: torch.nn.BatchNorm1d, 3: torch.nn.BatchNorm1d, 4: torch.nn.BatchNorm2d,
           5: torch.nn.BatchNorm3d}[x.ndim]
    bn = cls(x.shape[1], eps=eps, affine=affine, track_running_stats=track).double()
    with torch.no_grad():
        # What the state leaves out keeps PyTorch's initial value, as in bnorm.
        if affine and "weight" in state:
            bn.weight.copy_(torch.tensor(state["weight"]))
            bn.bias.copy_(torch.tensor(state["bias"]))
        if track and "running_mean" in state:
            bn.running_mean.copy_(torch.tensor(state["running_mean"]))
            bn.running_var.copy_(torch.tensor(state["running_var"]))
    return bn


def gradients(x, g, state, mode, eps, affine, track, channels_last):
    """autograd's grad_input, grad_weight, grad_bias, in x's dtype (computed in float64 for a
    float64 x and in float32 for a float32 x)."""
    dtype = torch.float64 if x.dtype == np.float64 else torch.float32
    xt = torch.from_numpy(np.moveaxis(x, -1, 1) if channels_last else x).to(dtype)
    gt = torch.from_numpy(np.moveaxis(g, -1, 1) if channels_last else g).to(dtype)
    bn = module_for(xt, state, eps, affine, track).to(dtype)
    bn.train(mode == "train")
    if dtype == torch.float64:
        check = module_for(xt, state, eps, affine, track)
        check.train(mode == "train")
        if track:  # gradcheck calls forward repeatedly: keep the running buffers fixed
            check.momentum = 0.0
        assert torch.autograd.gradcheck(check, (xt.clone().requires_grad_(),))
    xt = xt.clone().requires_grad_()
    bn(xt).backward(gt)
    grad_input = xt.grad.numpy()
    if channels_last:
        grad_input = np.moveaxis(grad_input, 1, -1)
    grads = {}
    if affine:
        grads = {"grad_weight": bn.weight.grad.double().tolist(),
                 "grad_bias": bn.bias.grad.double().tolist()}
    return np.ascontiguousarray(grad_input).astype(x.dtype), grads


def write_case(name, guards, x, g, state, args, mode="train", eps=1e-5, affine=True,
               track=True, channels_last=False, convention="torch"):
    folder = CASES / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    np.save(folder / "x.npy", x)
    np.save(folder / "g.npy", g)
    argv = ["backward", "x.npy", "--grad-output", "g.npy", "-o", "gi.npy",
            "--grads-out", "grads.json", "--mode", mode] + args
    if state is not None:
        (folder / "state.json").write_text(json.dumps(state) + "\n")
        argv += ["--state", "state.json"]
    grad_input, grads = gradients(x, g, state or {}, mode, eps, affine, track, channels_last)
    np.save(folder / "gi.expected.npy", grad_input)
    expected = {"convention": convention, "mode": mode, **grads}
    (folder / "grads.expected.json").write_text(json.dumps(expected, indent=1) + "\n")
    f64 = x.dtype == np.float64
    rtol, atol = (1e-10, 1e-12) if f64 else (1e-4, 1e-5)
    case = {
        "name": name,
        "guards": guards,
        "steps": [{
            "args": argv,
            "status": 0,
            "outputs": [
                {"file": "gi.npy", "expected": "gi.expected.npy", "rtol": rtol, "atol": atol},
                {"file": "grads.json", "expected": "grads.expected.json", "rtol": rtol,
                 "atol": atol},
            ],
        }],
        "reference": REFERENCE,
    }
    (folder / "case.json").write_text(json.dumps(case, indent=1) + "\n")


def main():
    torch.manual_seed(0)
    rng = np.random.default_rng(2027)
    state3 = {"weight": [1.5, -0.5, 2.0], "bias": [0.1, 0.2, -0.3],
              "running_mean": [1.0, 2.0, 3.0], "running_var": [4.0, 9.0, 0.5]}
    x = rng.normal(2.0, 3.0, size=(4, 3, 5, 5))
    g = rng.normal(size=x.shape)
    write_case("backward_train_float64", "train-mode gradients in float64, gradcheck level",
               x, g, state3, [])
    write_case("backward_eval_float64", "eval mode: the running statistics are constants",
               x, g, state3, [], mode="eval")
    write_case("backward_train_float32", "float32 input, float32 gradient out",
               x.astype(np.float32), g.astype(np.float32), state3, [])
    write_case("backward_no_affine", "no weight or bias: no parameter gradients",
               x, g, None, ["--no-affine"], affine=False)
    write_case("backward_no_track_eval",
               "no running statistics: eval mode uses (and differentiates) batch statistics",
               x, g, state3, ["--no-track-running-stats"], mode="eval", track=False)
    x2 = rng.normal(-1.0, 0.5, size=(16, 4))
    g2 = rng.normal(size=x2.shape)
    state4 = {"weight": [1.0, 2.0, 0.5, -1.0], "bias": [0.0, 0.5, 1.0, 1.5]}
    write_case("backward_bn1d_eps", "BatchNorm1d on (N, C) with --eps 1e-3", x2, g2, state4,
               ["--eps", "1e-3"], eps=1e-3)
    x3 = rng.normal(0.5, 2.0, size=(3, 4, 4, 3))
    g3 = rng.normal(size=x3.shape)
    write_case("backward_keras_channels_last",
               "keras convention: channels last, eps 1e-3 (the same derivative)",
               x3, g3, state3, ["--convention", "keras"], eps=1e-3, channels_last=True,
               convention="keras")


if __name__ == "__main__":
    main()
