#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""(Re)generates tests/golden/cases/: one folder per golden case of the bnorm CLI.

Run with Debian's interpreter, which has NumPy, PyTorch and ONNX:

    apt-get install -y python3-numpy python3-torch python3-onnx
    /usr/bin/python3 tests/golden/make_goldens.py

Every folder holds the input file(s) (x.npy / x.json, state.json), the expected outputs
(*.expected.npy, *.expected.json) and case.json, the list of bnorm invocations ("steps") that
tests/golden/run_case.py replays and checks.

Where the expected values come from (never from bnorm, never typed by hand):
  * torch convention: the real torch.nn.BatchNorm1d/2d/3d module (or nn.Linear for the
    Linear->BN example), built with the flags' settings, with the state loaded into it.
  * keras convention: Keras 3's formulas written in NumPy float64 (Keras is not installable
    here): biased moments, moving = m*old + (1-m)*batch, inv = gamma/sqrt(var+eps),
    y = x*inv + (beta - mean*inv).
  * onnx convention: ONNX's own NumPy reference functions _batchnorm_test_mode and
    _batchnorm_training_mode from onnx/backend/test/case/node/batchnorm.py (python3-onnx),
    or the same formula written here if that module is missing.
  * batch statistics in the --stats-out file (count, mean, var, var_unbiased, min, max):
    NumPy in float64 on the input values.

Deterministic: each case draws from its own seeded generator, so rerunning reproduces the
same files (as long as the installed NumPy/PyTorch versions are the same).
"""
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import torch

try:  # ONNX's reference implementation, as shipped by python3-onnx 1.12
    from onnx.backend.test.case.node.batchnorm import (_batchnorm_test_mode,
                                                        _batchnorm_training_mode)
    ONNX_REFERENCE = "onnx.backend.test.case.node.batchnorm (python3-onnx)"
except ImportError:  # pragma: no cover - same formulas, from BN-SEMANTICS.md
    def _batchnorm_test_mode(x, s, bias, mean, var, epsilon=1e-5):
        shape = (-1,) + (1,) * (x.ndim - 2)
        return (s.reshape(shape) * (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + epsilon)
                + bias.reshape(shape))

    def _batchnorm_training_mode(x, s, bias, mean, var, momentum=0.9, epsilon=1e-5):
        axis = tuple(np.delete(np.arange(x.ndim), 1))
        saved_mean, saved_var = x.mean(axis=axis), x.var(axis=axis)
        y = _batchnorm_test_mode(x, s, bias, saved_mean, saved_var, epsilon=epsilon)
        return (y.astype(np.float32), mean * momentum + saved_mean * (1 - momentum),
                var * momentum + saved_var * (1 - momentum))
    ONNX_REFERENCE = "ONNX formula re-implemented in NumPy (python3-onnx not installed)"

HERE = Path(__file__).resolve().parent
CASES = HERE / "cases"

# ---------------------------------------------------------------------------------------------
# Tolerances (rtol, atol) for the normalized output y, by output dtype, and why.
#
# float64: torch (float64 module), the Keras/ONNX NumPy formulas and bnorm all compute in double;
#   they differ only in summation order and in the order of the final multiply/add
#   (torch ((x-mu)*invstd)*w+b, Keras x*inv+(beta-mu*inv)), i.e. a few ulp of |x|/std.
#   1e-10 leaves a wide margin over that and still catches any float32 step anywhere.
# float32: PyTorch's float32 module does its elementwise arithmetic in float32 (statistics are
#   accumulated in double, then rounded to float32), bnorm computes in double and rounds once.
#   The two differ by a few float32 ulp (~1e-7 relative) of the O(1) outputs; 1e-5 is
#   the usual float32 margin.  Where the reference itself is float64 rounded to float32 (ints,
#   bool, Keras, ONNX, large offset) the difference is 1 ulp; the same 1e-5 is used.
# float16: PyTorch's CPU kernel does not implement half, so the reference is computed in float32
#   and cast to float16 (what every framework does); bnorm computes in double and rounds to
#   float16.  Both roundings can land on neighbouring float16 values: 1 ulp is 2^-10 ~ 9.8e-4
#   relative, hence 1e-3 relative plus 1e-3 absolute (outputs are O(1)).
Y_TOL = {
    "float64": (1e-10, 1e-12),
    "float32": (1e-5, 1e-5),
    "float16": (1e-3, 1e-3),
}
# Statistics and running statistics in the --stats-out file are doubles in bnorm, and the
# references compute them in double too (NumPy float64 for the moments; a float64 torch module
# for the running statistics).  Only the summation order differs (~1e-15 relative); 1e-8 is a
# margin that still fails any statistic computed in float32 (~6e-8 relative error at best).
STATS_TOL = (1e-8, 1e-12)


def tol(kind):
    rtol, atol = Y_TOL[kind]
    return {"rtol": rtol, "atol": atol}


# ---------------------------------------------------------------------------------------------
# References
# ---------------------------------------------------------------------------------------------
BN_CLASSES = {2: torch.nn.BatchNorm1d, 3: torch.nn.BatchNorm1d, 4: torch.nn.BatchNorm2d,
              5: torch.nn.BatchNorm3d}
TORCH_DTYPES = {np.float32: torch.float32, np.float64: torch.float64}


def full_state(channels, state):
    """The state with PyTorch's initial values for every missing key."""
    state = dict(state or {})
    state.setdefault("weight", [1.0] * channels)
    state.setdefault("bias", [0.0] * channels)
    state.setdefault("running_mean", [0.0] * channels)
    state.setdefault("running_var", [1.0] * channels)
    state.setdefault("num_batches_tracked", 0)
    return state


def torch_bn(x, *, compute, train, eps=1e-5, momentum=0.1, affine=True, track=True, state=None):
    """Runs x (any dtype; channel axis 1) through the real torch.nn.BatchNormNd module.

    compute: np.float32 or np.float64, the module's dtype.  Returns (y as numpy in the compute
    dtype, the module's parameters and buffers after the call as float64 lists)."""
    channels = x.shape[1]
    st = full_state(channels, state)
    dtype = TORCH_DTYPES[compute]
    module = BN_CLASSES[x.ndim](channels, eps=eps, momentum=momentum, affine=affine,
                                track_running_stats=track, dtype=dtype)
    with torch.no_grad():
        if affine:
            module.weight.copy_(torch.tensor(st["weight"], dtype=dtype))
            module.bias.copy_(torch.tensor(st["bias"], dtype=dtype))
        if track:
            module.running_mean.copy_(torch.tensor(st["running_mean"], dtype=dtype))
            module.running_var.copy_(torch.tensor(st["running_var"], dtype=dtype))
            module.num_batches_tracked.fill_(int(st["num_batches_tracked"]))
        module.train(train)
        # x -> float64 is exact for every input dtype used here; then -> compute dtype.
        tensor = torch.from_numpy(np.array(x, dtype=np.float64, order="C")).to(dtype)
        y = module(tensor).numpy()
    after = {}
    if affine:
        after["weight"] = module.weight.detach().double().tolist()
        after["bias"] = module.bias.detach().double().tolist()
    if track:
        after["running_mean"] = module.running_mean.double().tolist()
        after["running_var"] = module.running_var.double().tolist()
        after["num_batches_tracked"] = int(module.num_batches_tracked.item())
    return y, after


def torch_error(x, **kwargs):
    """The message PyTorch raises for x in the given settings (None if it does not raise)."""
    try:
        torch_bn(x, compute=np.float32, **kwargs)
    except (ValueError, RuntimeError) as error:
        return str(error)
    return None


def keras_bn(x, *, train, axis=-1, eps=1e-3, momentum=0.99, state=None):
    """Keras 3 BatchNormalization in NumPy float64 (gamma=weight, beta=bias,
    moving_mean/moving_variance=running_mean/running_var)."""
    xd = np.asarray(x, dtype=np.float64)
    ax = axis % xd.ndim
    channels = xd.shape[ax]
    st = full_state(channels, state)
    gamma, beta = np.array(st["weight"]), np.array(st["bias"])
    moving_mean, moving_var = np.array(st["running_mean"]), np.array(st["running_var"])
    reduce_axes = tuple(d for d in range(xd.ndim) if d != ax)
    if train:
        mean = xd.mean(axis=reduce_axes)
        var = xd.var(axis=reduce_axes)  # biased, as keras.ops.moments
        moving_mean = moving_mean * momentum + mean * (1.0 - momentum)
        moving_var = moving_var * momentum + var * (1.0 - momentum)
    else:
        mean, var = moving_mean, moving_var
    bshape = [1] * xd.ndim
    bshape[ax] = channels
    inv = gamma / np.sqrt(var + eps)
    y = xd * inv.reshape(bshape) + (beta - mean * inv).reshape(bshape)
    after = {"weight": gamma.tolist(), "bias": beta.tolist(),
             "running_mean": moving_mean.tolist(), "running_var": moving_var.tolist()}
    return y, after


def onnx_bn(x, *, train, eps=1e-5, momentum=0.9, state=None):
    """ONNX BatchNormalization through ONNX's NumPy reference functions, in float64."""
    xd = np.asarray(x, dtype=np.float64)
    st = full_state(xd.shape[1], state)
    s, b = np.array(st["weight"]), np.array(st["bias"])
    mean, var = np.array(st["running_mean"]), np.array(st["running_var"])
    if train:
        # The reference casts y to float32; recompute it in float64 below for float64 outputs.
        _, mean_out, var_out = _batchnorm_training_mode(xd, s, b, mean, var, momentum, eps)
        axes = tuple(np.delete(np.arange(xd.ndim), 1))
        y = _batchnorm_test_mode(xd, s, b, xd.mean(axis=axes), xd.var(axis=axes), epsilon=eps)
    else:
        y = _batchnorm_test_mode(xd, s, b, mean, var, epsilon=eps)
        mean_out, var_out = mean, var
    after = {"weight": s.tolist(), "bias": b.tolist(),
             "running_mean": np.asarray(mean_out).tolist(),
             "running_var": np.asarray(var_out).tolist()}
    return y, after


def batch_stats(x, axis):
    """The batch statistics of --stats-out, by NumPy in float64."""
    xd = np.asarray(x, dtype=np.float64)
    ax = axis % xd.ndim
    reduce_axes = tuple(d for d in range(xd.ndim) if d != ax)
    count = xd.size // xd.shape[ax]
    with np.errstate(invalid="ignore"):  # inf - inf in the infinity case: NaN, as in PyTorch
        return _batch_stats(xd, ax, reduce_axes, count)


def _batch_stats(xd, ax, reduce_axes, count):
    stats = {
        "num_features": int(xd.shape[ax]),
        "count": int(count),
        "mean": xd.mean(axis=reduce_axes).tolist(),
        "var": xd.var(axis=reduce_axes).tolist(),
        "min": xd.min(axis=reduce_axes).tolist(),
        "max": xd.max(axis=reduce_axes).tolist(),
    }
    if count > 1:  # n/(n-1) is undefined for one value per channel
        stats["var_unbiased"] = xd.var(axis=reduce_axes, ddof=1).tolist()
    return stats


# ---------------------------------------------------------------------------------------------
# Case folders
# ---------------------------------------------------------------------------------------------
class Case:
    def __init__(self, name, guards):
        self.name = name
        self.dir = CASES / name
        self.dir.mkdir(parents=True)
        self.doc = {"name": name, "guards": guards, "steps": []}

    def npy(self, filename, array, *, fortran=None, dtype_str=None):
        """Saves array; asserts the header says what the case means (order, byte order)."""
        np.save(self.dir / filename, array)
        with open(self.dir / filename, "rb") as f:
            version = np.lib.format.read_magic(f)
            header = (np.lib.format.read_array_header_1_0(f) if version == (1, 0)
                      else np.lib.format.read_array_header_2_0(f))
        if fortran is not None:
            assert header[1] == fortran, (self.name, filename, header)
        if dtype_str is not None:
            assert header[2].str == dtype_str, (self.name, filename, header)
        return filename

    def json(self, filename, obj):
        (self.dir / filename).write_text(json.dumps(obj, indent=1) + "\n")
        return filename

    def json_tensor(self, filename, array):
        rows = json.dumps(np.asarray(array, dtype=np.float64).tolist())
        (self.dir / filename).write_text(rows + "\n")
        return filename

    def step(self, args, *, status=0, outputs=(), stderr_contains=(), absent=()):
        step = {"args": list(args), "status": status}
        if stderr_contains:
            step["stderr_contains"] = list(stderr_contains)
        step["outputs"] = list(outputs)
        if absent:
            step["absent"] = list(absent)
        self.doc["steps"].append(step)

    def write(self):
        self.doc["reference"] = REFERENCE_NOTE
        self.json("case.json", self.doc)


REFERENCE_NOTE = ("expected values generated by tests/golden/make_goldens.py with torch "
                  f"{torch.__version__}, numpy {np.__version__}; ONNX reference: {ONNX_REFERENCE}")


def y_output(case, produced, expected_name, y, out_dtype, *, fortran=False, dtype_str=None,
             tolerance=None):
    """Saves the expected y (in the expected output dtype/order) and returns the check."""
    arr = np.asarray(y).astype(out_dtype)
    if fortran:
        arr = np.asfortranarray(arr)
    case.npy(expected_name, arr, fortran=fortran, dtype_str=dtype_str)
    check = {"file": produced, "expected": expected_name}
    check.update(tolerance or tol(np.dtype(out_dtype).name))
    return check


def stats_output(case, produced, expected_name, expected, *, absent_keys=(), key_tolerances=None):
    case.json(expected_name, expected)
    check = {"file": produced, "expected": expected_name, "rtol": STATS_TOL[0],
             "atol": STATS_TOL[1]}
    if key_tolerances:
        check["key_tolerances"] = key_tolerances
    if absent_keys:
        check["absent_keys"] = list(absent_keys)
    return check


def expected_stats(x, *, convention, mode, eps, momentum, axis, after):
    doc = {"convention": convention, "mode": mode, "eps": eps, "momentum": momentum,
           # bnorm reports the channel axis it used, counted from the front
           "axis": axis % np.ndim(x)}
    doc.update(batch_stats(x, axis))
    doc.update(after)
    return doc


def absent_for(affine=True, track=True):
    keys = []
    if not affine:
        keys += ["weight", "bias"]
    if not track:
        keys += ["running_mean", "running_var", "num_batches_tracked"]
    return keys


def rng_for(seed):
    return np.random.default_rng(seed)


def f32_values(rng, n, low=None, high=None, positive=False):
    """Random state values exactly representable in float32, as Python floats, so that a
    float32 torch module and bnorm (double) see the very same state."""
    if positive:
        v = rng.uniform(0.25, 2.0, size=n)
    elif low is not None:
        v = rng.uniform(low, high, size=n)
    else:
        v = rng.normal(size=n)
    return [float(a) for a in v.astype(np.float32)]


def random_state(rng, channels, nbt=0):
    return {"weight": f32_values(rng, channels, 0.5, 2.0),
            "bias": f32_values(rng, channels),
            "running_mean": f32_values(rng, channels),
            "running_var": f32_values(rng, channels, positive=True),
            "num_batches_tracked": nbt}


# ---------------------------------------------------------------------------------------------
# A generic torch case: one step, y + stats
# ---------------------------------------------------------------------------------------------
def torch_case(name, guards, x, *, mode="train", eps=None, momentum="default", affine=True,
               track=True, state=None, x_file="x.npy", y_file="y.npy", fortran=False,
               in_dtype_str=None, out_dtype=None, extra_args=(), y_tolerance=None,
               key_tolerances=None, y_compute=None, drop_keys=()):
    case = Case(name, guards)
    if x_file.endswith(".json"):
        case.json_tensor(x_file, x)
        values = np.asarray(x, dtype=np.float64)
    else:
        case.npy(x_file, x, fortran=fortran, dtype_str=in_dtype_str)
        values = x
    args = ["apply", x_file, "-o", y_file, "--stats-out", "stats.json"]
    if mode != "train":
        args += ["--mode", mode]
    t_eps = 1e-5 if eps is None else eps
    if eps is not None:
        args += ["--eps", repr(eps)]
    t_mom = 0.1 if momentum == "default" else momentum
    if momentum != "default":
        args += ["--momentum", "none" if momentum is None else repr(momentum)]
    if not affine:
        args.append("--no-affine")
    if not track:
        args.append("--no-track-running-stats")
    if state is not None:
        case.json("state.json", state)
        args += ["--state", "state.json"]
    args += list(extra_args)

    # Output dtype: the input's float kind; float32 for ints/bools/JSON-as-npy rules.
    if out_dtype is None:
        kind = np.dtype(values.dtype)
        out_dtype = kind.newbyteorder("<") if kind.kind == "f" else np.dtype(np.float32)
    out_dtype = np.dtype(out_dtype)
    if y_compute is None:  # PyTorch's own arithmetic for float32/float64; float32 for float16
        y_compute = np.float64 if out_dtype == np.float64 else np.float32
    common = dict(train=(mode == "train"), eps=t_eps, momentum=t_mom, affine=affine,
                  track=track, state=state)
    y, _ = torch_bn(values, compute=y_compute, **common)
    _, after = torch_bn(values, compute=np.float64, **common)
    outputs = []
    if y_file.endswith(".npy"):
        outputs.append(y_output(case, y_file, "y.expected.npy", y, out_dtype, fortran=fortran,
                                dtype_str=out_dtype.str if out_dtype.kind == "f" else None,
                                tolerance=y_tolerance))
    else:
        check = y_output(case, y_file, "y.expected.npy", y, out_dtype, tolerance=y_tolerance)
        outputs.append(check)
    expected = expected_stats(values, convention="torch", mode=mode, eps=t_eps, momentum=t_mom,
                              axis=1, after=after)
    for key in drop_keys:
        expected.pop(key)
    outputs.append(stats_output(case, "stats.json", "stats.expected.json", expected,
                                absent_keys=absent_for(affine, track),
                                key_tolerances=key_tolerances))
    case.step(args, outputs=outputs)
    case.write()
    return case


# ---------------------------------------------------------------------------------------------
# The cases
# ---------------------------------------------------------------------------------------------
def case_linear_then_bn1d():
    """Example (a) of the original notes: Linear(10,5) then BatchNorm1d(5), training."""
    torch.manual_seed(0)
    linear = torch.nn.Linear(10, 5)
    inputs = torch.randn(4, 10)
    with torch.no_grad():
        hidden = linear(inputs).numpy()  # float32 (4,5): what BatchNorm1d(5) receives
    torch_case("linear_then_bn1d_train",
               "Example (a): a (4,10) batch through torch.nn.Linear(10,5) then BatchNorm1d(5) "
               "in training; x.npy is the Linear output (BN input), float32 (N,C).",
               hidden)


def case_bn2d_train():
    rng = rng_for(2)
    scale = np.array([1.0, 4.0, 0.5])[None, :, None, None]   # each channel its own scale
    offset = np.array([2.0, -10.0, 0.25])[None, :, None, None]  # and mean
    x = (rng.normal(size=(4, 3, 5, 5)) * scale + offset).astype(np.float32)
    torch_case("bn2d_train_stats",
               "Example (b): BatchNorm2d(3) on a (4,3,5,5) float32 batch in training, with the "
               "statistics file (batch moments, unbiased running_var update, momentum 0.1).",
               x)


def case_bn2d_eval_state():
    rng = rng_for(3)
    x = rng.normal(size=(2, 3, 4, 4)).astype(np.float32)
    torch_case("bn2d_eval_state",
               "Eval mode with a state (random weight, bias, running_mean, running_var): "
               "normalizes with the running statistics and leaves them unchanged.",
               x, mode="eval", state=random_state(rng, 3, nbt=7))


def case_momentum_none():
    rng = rng_for(4)
    x = (rng.normal(size=(3, 3, 4, 4)) * 2 + 1).astype(np.float32)
    torch_case("bn2d_momentum_none",
               "--momentum none = PyTorch momentum=None cumulative average: with "
               "num_batches_tracked 3 in the state the new batch gets weight 1/4, and "
               "num_batches_tracked becomes 4.",
               x, momentum=None, state=random_state(rng, 3, nbt=3))


def case_no_affine():
    rng = rng_for(5)
    x = (rng.normal(size=(4, 3, 3, 3)) * 3 - 2).astype(np.float32)
    torch_case("bn2d_no_affine",
               "--no-affine (affine=False): no weight/bias applied, none in the stats file.",
               x, affine=False)


def case_eps_momentum():
    rng = rng_for(6)
    x = rng.normal(size=(4, 3, 3, 3)).astype(np.float32) * np.float32(0.05)
    torch_case("bn2d_eps_momentum",
               "Non-default --eps 0.001 and --momentum 0.3 (torch meaning: weight of the new "
               "batch); small-variance data so that eps visibly matters.",
               x, eps=1e-3, momentum=0.3, state=random_state(rng, 3, nbt=2))


def case_float64():
    rng = rng_for(7)
    x = rng.normal(size=(3, 4, 3, 3)) * 5 + 3
    torch_case("bn2d_float64",
               "float64 input: float64 output, computed by a float64 torch module; "
               "tight tolerance catches any float32 step.",
               x, state=random_state(rng, 4, nbt=1))


def case_float16():
    rng = rng_for(8)
    x = (rng.normal(size=(4, 3, 3, 3)) * 2 + 1).astype(np.float16)
    torch_case("bn2d_float16",
               "float16 input: written back as float16; reference computed in float32 "
               "(PyTorch's CPU kernel has no half) and cast; statistics in float64.",
               x, state=random_state(rng, 3))


def case_fortran():
    rng = rng_for(9)
    x = np.asfortranarray(rng.normal(size=(4, 3, 2, 5)).astype(np.float32))
    torch_case("fortran_order_input",
               "Fortran-order .npy input (BatchNorm2d, channel axis 1): output is Fortran-order "
               "too, values as for the C-order array.",
               x, fortran=True, state=random_state(rng, 3))


def case_big_endian():
    rng = rng_for(10)
    x = (rng.normal(size=(5, 4, 3)) * 2 - 1).astype(">f8")
    torch_case("big_endian_input",
               "Big-endian '>f8' input (BatchNorm1d on (N,C,L)): little-endian '<f8' output.",
               x, in_dtype_str=">f8", state=random_state(rng, 4))


def case_json():
    rng = rng_for(11)
    x = np.round(rng.normal(size=(5, 3)) * [1, 10, 100] + [0, 5, 50], 3)
    torch_case("json_in_json_out",
               "JSON nested-array input and JSON output (JSON input is float64): compared "
               "with a float64 BatchNorm1d.",
               x, x_file="x.json", y_file="y.json", out_dtype=np.float64)


def case_bn1d_ncl():
    rng = rng_for(12)
    x = (rng.normal(size=(4, 3, 6)) + [[-1.0], [0.0], [3.0]]).astype(np.float32)
    torch_case("bn1d_ncl",
               "BatchNorm1d on a 3-D (N,C,L) batch: statistics over N and L.",
               x, state=random_state(rng, 3))


def case_bn3d():
    rng = rng_for(13)
    x = rng.normal(size=(2, 3, 3, 4, 4)).astype(np.float32)
    torch_case("bn3d_train",
               "BatchNorm3d on a 5-D (N,C,D,H,W) batch in training.",
               x, state=random_state(rng, 3, nbt=5))


def keras_like_case(name, guards, x, *, convention, mode, state, eps=None, momentum=None,
                    axis=None, y_tolerance=None):
    """One step with the keras or onnx convention; reference = NumPy formulas."""
    case = Case(name, guards)
    case.npy("x.npy", x)
    args = ["apply", "x.npy", "-o", "y.npy", "--convention", convention, "--mode", mode,
            "--stats-out", "stats.json"]
    defaults = {"keras": (1e-3, 0.99, -1), "onnx": (1e-5, 0.9, 1)}[convention]
    t_eps = defaults[0] if eps is None else eps
    t_mom = defaults[1] if momentum is None else momentum
    t_axis = defaults[2] if axis is None else axis
    if eps is not None:
        args += ["--eps", repr(eps)]
    if momentum is not None:
        args += ["--momentum", repr(momentum)]
    if axis is not None:
        args += ["--axis", str(axis)]
    if state is not None:
        case.json("state.json", state)
        args += ["--state", "state.json"]
    train = mode == "train"
    if convention == "keras":
        y, after = keras_bn(x, train=train, axis=t_axis, eps=t_eps, momentum=t_mom, state=state)
    else:
        y, after = onnx_bn(x, train=train, eps=t_eps, momentum=t_mom, state=state)
    out_dtype = np.dtype(x.dtype) if np.dtype(x.dtype).kind == "f" else np.dtype(np.float32)
    outputs = [y_output(case, "y.npy", "y.expected.npy", y, out_dtype, dtype_str=out_dtype.str,
                        tolerance=y_tolerance)]
    # Keras and ONNX know no num_batches_tracked: that key is not checked for them.
    expected = expected_stats(x, convention=convention, mode=mode, eps=t_eps, momentum=t_mom,
                              axis=t_axis, after=after)
    if convention == "keras" and expected["count"] == 1:
        expected.pop("var_unbiased", None)
    outputs.append(stats_output(case, "stats.json", "stats.expected.json", expected))
    case.step(args, outputs=outputs)
    case.write()


def case_keras_train():
    rng = rng_for(14)
    x = (rng.normal(size=(4, 5, 5, 3)) * [0.5, 2.0, 1.0] + [1.0, -3.0, 0.0]).astype(np.float32)
    keras_like_case("keras_train_channels_last",
                    "Keras 3 convention, training, channels-last (4,5,5,3), defaults eps 1e-3, "
                    "momentum 0.99 (weight of the old value), running_var fed the biased var.",
                    x, convention="keras", mode="train", state=random_state(rng, 3))


def case_keras_eval():
    rng = rng_for(15)
    x = rng.normal(size=(4, 5, 5, 3)).astype(np.float32)
    keras_like_case("keras_eval_state",
                    "Keras 3 convention, inference with a state: y = x*inv + (beta - mean*inv), "
                    "inv = gamma/sqrt(moving_var + 1e-3).",
                    x, convention="keras", mode="eval", state=random_state(rng, 3))


def case_keras_options():
    rng = rng_for(16)
    x = (rng.normal(size=(4, 3, 5)) * 0.1).astype(np.float32)
    keras_like_case("keras_axis1_eps_momentum",
                    "Keras convention with --axis 1 on (4,3,5), --eps 1e-4 and --momentum 0.9 "
                    "(Keras meaning: weight of the old value).",
                    x, convention="keras", mode="train", eps=1e-4, momentum=0.9, axis=1,
                    state=random_state(rng, 3))


def case_onnx_train():
    rng = rng_for(17)
    x = (rng.normal(size=(2, 3, 4, 5)) * 1.5 + 0.5).astype(np.float32)
    keras_like_case("onnx_train",
                    "ONNX training mode (opset 15): biased var, running = running*0.9 + "
                    "batch*0.1, eps 1e-5; ONNX's NumPy reference.",
                    x, convention="onnx", mode="train", state=random_state(rng, 3))


def case_onnx_eval():
    rng = rng_for(18)
    x = rng.normal(size=(2, 3, 4, 5)).astype(np.float32)
    keras_like_case("onnx_eval",
                    "ONNX inference mode with a state: y = s*(x - mean)/sqrt(var + eps) + B.",
                    x, convention="onnx", mode="eval", state=random_state(rng, 3))


def case_chain():
    """Three training batches chained through --stats-out/--state, then eval with the result."""
    rng = rng_for(19)
    case = Case("torch_chain_three_batches",
                "A chain of three training batches through --stats-out/--state (the stats file "
                "is the next --state); running statistics and num_batches_tracked compared "
                "after each; then an eval step with the final state.")
    state = random_state(rng, 3, nbt=0)
    case.json("state0.json", state)
    previous = "state0.json"
    for i in (1, 2, 3):
        x = (rng.normal(size=(4, 3, 3, 3)) * (1 + i) + i).astype(np.float32)
        case.npy(f"x{i}.npy", x)
        y, _ = torch_bn(x, compute=np.float32, train=True, state=state)
        _, after = torch_bn(x, compute=np.float64, train=True, state=state)
        expected = expected_stats(x, convention="torch", mode="train", eps=1e-5, momentum=0.1,
                                  axis=1, after=after)
        outputs = [y_output(case, f"y{i}.npy", f"y{i}.expected.npy", y, np.float32,
                            dtype_str="<f4"),
                   stats_output(case, f"stats{i}.json", f"stats{i}.expected.json", expected)]
        case.step(["apply", f"x{i}.npy", "-o", f"y{i}.npy", "--state", previous,
                   "--stats-out", f"stats{i}.json"], outputs=outputs)
        state = after
        previous = f"stats{i}.json"
    x = rng.normal(size=(2, 3, 3, 3)).astype(np.float32) * np.float32(2.0)
    case.npy("x_eval.npy", x)
    y, _ = torch_bn(x, compute=np.float32, train=False, state=state)
    case.step(["apply", "x_eval.npy", "-o", "y_eval.npy", "--mode", "eval", "--state", previous],
              outputs=[y_output(case, "y_eval.npy", "y_eval.expected.npy", y, np.float32,
                                dtype_str="<f4")])
    case.write()


def case_one_value_error():
    rng = rng_for(20)
    x = rng.normal(size=(1, 3)).astype(np.float32)
    message = torch_error(x, train=True)
    assert message is not None, "PyTorch no longer rejects one value per channel?"
    words = message.split(",")[0]  # "Expected more than 1 value per channel when training"
    case = Case("torch_one_value_error",
                "torch training with one value per channel, shape (1,3): exit status 3, "
                "PyTorch's words on stderr, and no output or stats file is left behind.")
    case.npy("x.npy", x)
    case.step(["apply", "x.npy", "-o", "y.npy", "--stats-out", "stats.json"], status=3,
              stderr_contains=["bnorm: error: ", words], absent=["y.npy", "stats.json"])
    case.write()


def case_keras_one_value():
    rng = rng_for(21)
    x = rng.normal(size=(1, 3)).astype(np.float32)
    keras_like_case("keras_one_value",
                    "Keras with one value per channel in training, (1,3): allowed, var 0, "
                    "y = beta.",
                    x, convention="keras", mode="train", state=random_state(rng, 3))


def case_no_track_eval():
    rng = rng_for(22)
    x = (rng.normal(size=(4, 3, 3, 3)) + 5).astype(np.float32)
    torch_case("no_track_running_stats_eval",
               "--no-track-running-stats in eval mode: batch statistics are used (the state's "
               "running statistics are ignored), no running keys in the stats file.",
               x, mode="eval", track=False,
               state={k: v for k, v in random_state(rng, 3).items()
                      if k in ("weight", "bias")})


def case_int_input():
    rng = rng_for(23)
    x = rng.integers(-50, 50, size=(4, 3, 2, 2)).astype(np.int32)
    torch_case("int32_input",
               "int32 .npy input: computed on the exact values, written as float32 "
               "(reference: float64 torch module, rounded to float32).",
               x, out_dtype=np.float32, y_compute=np.float64)


def case_bool_input():
    rng = rng_for(24)
    x = rng.random(size=(6, 3)) < 0.5
    x[0] = True
    x[1] = False  # both values in every channel
    torch_case("bool_input",
               "bool .npy input: true = 1, false = 0, written as float32 "
               "(reference: float64 torch module, rounded to float32).",
               x, out_dtype=np.float32, y_compute=np.float64)


def case_large_offset():
    rng = rng_for(25)
    x = (1e4 + 0.01 * rng.normal(size=(64, 3, 8, 8))).astype(np.float32)
    torch_case("large_offset_float32",
               "x = 1e4 + 0.01*N(0,1) stored as float32, (64,3,8,8): |mean| >> std, where "
               "E[x^2]-E[x]^2 in float32 loses everything.  Reference: torch in float64 on the "
               "float32 values, y rounded to float32; var compared with rtol 1e-7.",
               x, y_compute=np.float64,
               key_tolerances={k: {"rtol": 1e-7, "atol": 0.0}
                               for k in ("var", "var_unbiased", "running_var")})


def case_json_nonfinite():
    rng = rng_for(26)
    x = rng.normal(size=(4, 3))
    x[1, 2] = np.nan
    torch_case("json_nonfinite",
               "A NaN in one channel of a JSON batch (torch train): as in PyTorch that channel's "
               "output, mean, var and running statistics are NaN; the other channels are "
               "unaffected; NaN written as JSON NaN.",
               x, x_file="x.json", y_file="y.json", out_dtype=np.float64,
               # min/max are bnorm's own diagnostics, not a framework's: no reference for NaN
               drop_keys=("min", "max"))


def case_float32_to_json():
    rng = rng_for(27)
    x = rng.normal(size=(4, 3, 2)).astype(np.float32)
    torch_case("float32_npy_to_json",
               "float32 .npy input written as JSON: values are the float32 results.",
               x, y_file="y.json", state=random_state(rng, 3, nbt=10), mode="eval")


def case_no_track_one_value_eval_error():
    rng = rng_for(28)
    x = rng.normal(size=(1, 3)).astype(np.float32)
    message = torch_error(x, train=False, track=False)
    assert message is not None, "PyTorch no longer rejects this?"
    case = Case("no_track_one_value_eval_error",
                "--no-track-running-stats uses batch statistics in eval mode too, so PyTorch's "
                "one-value error fires in eval as well: (1,3) -> exit 3, nothing written.")
    case.npy("x.npy", x)
    case.step(["apply", "x.npy", "-o", "y.npy", "--mode", "eval", "--no-track-running-stats",
               "--stats-out", "stats.json"], status=3,
              stderr_contains=["bnorm: error: ", message.split(",")[0]],
              absent=["y.npy", "stats.json"])
    case.write()


def case_torch_one_value_eval():
    rng = rng_for(29)
    x = rng.normal(size=(1, 3)).astype(np.float32)
    state = random_state(rng, 3, nbt=4)
    assert torch_error(x, train=False, state=state) is None
    torch_case("torch_one_value_eval",
               "torch eval mode with one value per channel, (1,3): allowed (running statistics "
               "are used), unlike training.",
               x, mode="eval", state=state)


def case_onnx_one_value():
    rng = rng_for(30)
    x = rng.normal(size=(1, 3, 1, 1)).astype(np.float32)
    keras_like_case("onnx_one_value",
                    "ONNX training mode with one value per channel, (1,3,1,1): allowed, var 0, "
                    "y = B.",
                    x, convention="onnx", mode="train", state=random_state(rng, 3))


def case_keras_float16():
    rng = rng_for(31)
    x = (rng.normal(size=(3, 4, 4, 2)) * 3 + 1).astype(np.float16)
    keras_like_case("keras_float16",
                    "Keras convention on float16 input: computed in higher precision, written "
                    "back as float16.",
                    x, convention="keras", mode="train", state=random_state(rng, 2),
                    y_tolerance=tol("float16"))


def case_json_infinity():
    rng = rng_for(32)
    x = rng.normal(size=(4, 3))
    x[2, 0] = np.inf
    x[0, 1] = -np.inf
    torch_case("json_infinity",
               "+Infinity in channel 0 and -Infinity in channel 1 of a JSON batch (torch train): "
               "as in PyTorch, mean is +-inf and var NaN, so those channels' outputs are NaN; "
               "channel 2 is unaffected.",
               x, x_file="x.json", y_file="y.json", out_dtype=np.float64,
               drop_keys=("min", "max"))


def case_keras_chain():
    """Two Keras training batches chained through --stats-out/--state."""
    rng = rng_for(33)
    case = Case("keras_chain_two_batches",
                "Keras convention, two training batches chained through --stats-out/--state: "
                "moving statistics compared after each (momentum 0.99, old-value weight).")
    state = random_state(rng, 2)
    case.json("state0.json", state)
    previous = "state0.json"
    for i in (1, 2):
        x = (rng.normal(size=(3, 4, 2)) * (1 + i) - i).astype(np.float32)
        case.npy(f"x{i}.npy", x)
        y, after = keras_bn(x, train=True, state=state)
        expected = expected_stats(x, convention="keras", mode="train", eps=1e-3, momentum=0.99,
                                  axis=-1, after=after)
        outputs = [y_output(case, f"y{i}.npy", f"y{i}.expected.npy", y, np.float32,
                            dtype_str="<f4"),
                   stats_output(case, f"stats{i}.json", f"stats{i}.expected.json", expected)]
        case.step(["apply", f"x{i}.npy", "-o", f"y{i}.npy", "--convention", "keras",
                   "--state", previous, "--stats-out", f"stats{i}.json"], outputs=outputs)
        state = dict(after)
        previous = f"stats{i}.json"
    case.write()


def case_single_sample_spatial():
    rng = rng_for(34)
    x = rng.normal(size=(1, 3, 2, 3)).astype(np.float32)
    assert torch_error(x, train=True) is None  # 6 values per channel: PyTorch accepts it
    torch_case("bn2d_single_sample_spatial",
               "torch training with N=1 but 2x3 spatial values per channel: allowed (the "
               "one-value rule counts N*H*W, not N).",
               x)


ALL_CASES = [
    case_linear_then_bn1d, case_bn2d_train, case_bn2d_eval_state, case_momentum_none,
    case_no_affine, case_eps_momentum, case_float64, case_float16, case_fortran,
    case_big_endian, case_json, case_bn1d_ncl, case_bn3d, case_keras_train, case_keras_eval,
    case_keras_options, case_onnx_train, case_onnx_eval, case_chain, case_one_value_error,
    case_keras_one_value, case_no_track_eval, case_int_input, case_bool_input,
    case_large_offset, case_json_nonfinite, case_float32_to_json,
    case_no_track_one_value_eval_error, case_torch_one_value_eval, case_onnx_one_value,
    case_keras_float16, case_json_infinity, case_keras_chain, case_single_sample_spatial,
]


def main():
    torch.set_num_threads(1)  # deterministic summation order in the reference
    if CASES.exists():
        shutil.rmtree(CASES)
    CASES.mkdir()
    for make in ALL_CASES:
        make()
    names = sorted(p.name for p in CASES.iterdir())
    print(f"wrote {len(names)} cases in {CASES}:")
    for name in names:
        print("  " + name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
