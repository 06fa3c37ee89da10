# SPDX-License-Identifier: Apache-2.0
"""--stats-out naming the --state file of tensors updates the layer in place: only its entries
change, in the names and types the file gave them; every other entry keeps its name, dtype,
shape and bytes (read back here with NumPy's zipfile and a safetensors header parsed by hand);
the layer's new values are torch's BatchNorm update, computed live; two runs updating two layers
of one file at once lose neither update (the lock).  BNORM_LARGE_GRID=1 adds wrappers, layers
and formats to the grid."""
import json
import os
import struct
import subprocess
import unittest
import zipfile

import numpy as np
import torch

from cli_support import BNORM, ScratchTestCase, write_safetensors

LARGE = os.environ.get("BNORM_LARGE_GRID") == "1"
CHANNELS = 3
SAFETENSORS_DTYPES = {np.dtype(np.float16): "F16", np.dtype(np.float32): "F32",
                      np.dtype(np.float64): "F64", np.dtype(np.int64): "I64",
                      np.dtype(np.int32): "I32", np.dtype(np.uint8): "U8"}
NUMPY_DTYPES = {v: k for k, v in SAFETENSORS_DTYPES.items()}


def model_state(wrapper, rng):
    """A state_dict of two batch-norm layers among tensors of other layers: bn1 with float32
    statistics but a float16 running_var, bn2 all float64; conv weights of three types and an
    int tensor around them."""
    def stats(dtype, var_dtype):
        return {"weight": rng.uniform(0.5, 1.5, CHANNELS).astype(dtype),
                "bias": rng.normal(size=CHANNELS).astype(dtype),
                "running_mean": rng.normal(size=CHANNELS).astype(dtype),
                "running_var": rng.uniform(0.5, 2, CHANNELS).astype(var_dtype),
                "num_batches_tracked": np.array(rng.integers(0, 100), dtype=np.int64)}
    state = {"conv1.weight": rng.normal(size=(CHANNELS, 2, 3, 3)).astype(np.float32)}
    state.update({"bn1." + k: v for k, v in stats(np.float32, np.float16).items()})
    state["conv2.weight"] = rng.normal(size=(CHANNELS, CHANNELS, 1, 1)).astype(np.float16)
    state["conv2.bias"] = rng.normal(size=CHANNELS).astype(np.float64)
    state.update({"bn2." + k: v for k, v in stats(np.float64, np.float64).items()})
    state["fc.index"] = rng.integers(-5, 5, size=(4,)).astype(np.int32)
    return {wrapper + k: v for k, v in state.items()}


def tolerance(dtype):
    """bnorm's double and torch's, rounded to `dtype`: one ulp apart at most when rounding
    splits them; in float64 itself, a few ulps of summation order."""
    return max(np.finfo(dtype).eps, 8 * np.finfo(np.float64).eps)


def read_safetensors(path):
    """{name: (dtype name, shape, raw bytes)} and the metadata, from the header by hand."""
    raw = path.read_bytes()
    (size,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + size])
    metadata = header.pop("__metadata__", None)
    data = raw[8 + size:]
    return {k: (v["dtype"], tuple(v["shape"]), data[v["data_offsets"][0]:v["data_offsets"][1]])
            for k, v in header.items()}, metadata, list(header)


def torch_update(state, prefix, x):
    """torch's BatchNorm2d train step from the layer's values (in float64), and its output."""
    bn = torch.nn.BatchNorm2d(CHANNELS).double()
    with torch.no_grad():
        for name in ("weight", "bias", "running_mean", "running_var"):
            getattr(bn, name).copy_(torch.from_numpy(state[prefix + name].astype(np.float64)))
        bn.num_batches_tracked.fill_(int(state[prefix + "num_batches_tracked"]))
        y = bn.train()(torch.from_numpy(x.astype(np.float64)))
    return {k: v.numpy() for k, v in bn.state_dict().items()}, y.numpy()


class InPlaceTest(ScratchTestCase):
    def setUp(self):
        super().setUp()
        self.rng = np.random.default_rng(13)
        self.x = self.rng.normal(size=(4, CHANNELS, 2, 2)).astype(np.float32)
        np.save(self.path("x.npy"), self.x)

    def write(self, kind, state):
        """The state as `kind` (npz, npz-deflated, safetensors); returns the file's name."""
        if kind == "safetensors":
            tensors = [(k, SAFETENSORS_DTYPES[v.dtype], v.shape, v.tobytes()) for k, v in
                       state.items()]
            # bfloat16, which NumPy has not: a tensor bnorm must copy without reading.
            bf16 = torch.arange(6, dtype=torch.float32).reshape(2, 3).to(torch.bfloat16) / 7
            tensors.insert(2, ("emb.weight", "BF16", (2, 3), bf16.view(torch.int16).numpy().tobytes()))
            write_safetensors(self.path("m.safetensors"), tensors,
                              metadata={"format": "pt", "note": "kept"})
            return "m.safetensors"
        save = np.savez_compressed if kind == "npz-deflated" else np.savez
        save(self.path("m.npz"), **state)
        return "m.npz"

    def entries(self, name):
        """{name: (dtype, shape, bytes, how stored)} and the order, for either format."""
        path = self.path(name)
        if name.endswith(".safetensors"):
            tensors, metadata, order = read_safetensors(path)
            return {k: (*v, metadata) for k, v in tensors.items()}, order
        with zipfile.ZipFile(path) as z:
            out = {}
            for info in z.infolist():
                array = np.load(z.open(info.filename))
                out[info.filename[:-4]] = (array.dtype.str, array.shape, z.read(info.filename),
                                           info.compress_type)
            return out, [n[:-4] for n in z.namelist()]

    def value(self, entry):
        dtype, shape, raw = entry[:3]
        if isinstance(dtype, str) and dtype in NUMPY_DTYPES:
            return np.frombuffer(raw, NUMPY_DTYPES[dtype]).reshape(shape)
        return None

    def layer_value(self, name, tensor):
        if name.endswith(".safetensors"):
            return self.value(self.entries(name)[0][tensor])
        return np.load(self.path(name))[tensor]

    def check_update(self, kind, wrapper, layer, asked):
        state = model_state(wrapper, self.rng)
        name = self.write(kind, state)
        before, order_before = self.entries(name)
        result = self.bnorm("apply", "x.npy", "-o", "y.npy", "--state", name, "--state-prefix",
                            asked, "--stats-out", name)
        self.assertEqual(result.status, 0, result)
        after, order_after = self.entries(name)
        prefix = wrapper + layer + "."
        layer_names = {prefix + k for k in ("weight", "bias", "running_mean", "running_var",
                                            "num_batches_tracked")}
        # Every other entry: its name, dtype, shape, bytes (and compression) as they were.
        self.assertEqual(order_after, order_before)
        for key in order_before:
            if key in layer_names:
                continue
            self.assertEqual(after[key], before[key], key)
        # The layer's entries: torch's update, in the types they had.
        expected, y = torch_update(state, prefix, self.x)
        for short, want in expected.items():
            key = prefix + short
            got = self.layer_value(name, key)
            self.assertEqual(got.dtype, state[key].dtype, key)
            self.assertEqual(got.shape, state[key].shape, key)
            if short == "num_batches_tracked":
                self.assertEqual(int(got), int(state[key]) + 1)
                continue
            rounded = want.astype(got.dtype).astype(np.float64)
            np.testing.assert_allclose(got.astype(np.float64), rounded, atol=0,
                                       rtol=tolerance(got.dtype), err_msg=key)
        np.testing.assert_allclose(np.load(self.path("y.npy")), y, rtol=1e-5, atol=1e-6)

    def test_the_layer_is_replaced_and_every_other_entry_kept(self):
        wrappers = ["", "module.", "model.", "module.model."] if LARGE else ["", "module."]
        kinds = ["npz", "npz-deflated", "safetensors"]
        for kind in kinds:
            for wrapper in wrappers:
                for layer in ("bn1", "bn2"):
                    for asked in ([layer + ".", layer] if LARGE or wrapper else [layer + "."]):
                        with self.subTest(kind=kind, wrapper=wrapper, layer=layer, asked=asked):
                            self.check_update(kind, wrapper, layer, asked)

    def test_keras_names_stay_keras_and_the_layer_keeps_its_keys(self):
        # A layer without weight and bias (affine=False) or without a counter (Keras) is
        # updated in the values it has: the model keeps its keys, which
        # load_state_dict(strict=True) checks.
        for ext in ("npz", "safetensors"):
            with self.subTest(ext=ext):
                mean = self.rng.normal(size=CHANNELS).astype(np.float16)
                var = self.rng.uniform(1, 2, CHANNELS).astype(np.float16)
                keras = {"dense.kernel": self.rng.normal(size=(2, 2)).astype(np.float32),
                         "bn.moving_mean": mean, "bn.moving_variance": var}
                torch_names = {"bn.running_mean": mean, "bn.running_var": var,
                               "bn.num_batches_tracked": np.array(3, dtype=np.int64)}
                for state in (keras, torch_names):
                    if ext == "npz":
                        np.savez(self.path("k.npz"), **state)
                    else:
                        write_safetensors(self.path("k.safetensors"),
                                          [(k, SAFETENSORS_DTYPES[v.dtype], v.shape, v.tobytes())
                                           for k, v in state.items()])
                    name = "k." + ext
                    result = self.bnorm("apply", "x.npy", "-o", "y.npy", "--state", name,
                                        "--state-prefix", "bn.", "--stats-out", name)
                    self.assertEqual(result.status, 0, result)
                    after, order = self.entries(name)
                    self.assertEqual(order, list(state))
                    bn = torch.nn.BatchNorm2d(CHANNELS).double()
                    with torch.no_grad():
                        bn.running_mean.copy_(torch.from_numpy(mean.astype(np.float64)))
                        bn.running_var.copy_(torch.from_numpy(var.astype(np.float64)))
                        bn.train()(torch.from_numpy(self.x.astype(np.float64)))
                    mean_name = "bn.moving_mean" if state is keras else "bn.running_mean"
                    var_name = "bn.moving_variance" if state is keras else "bn.running_var"
                    for key, want in ((mean_name, bn.running_mean), (var_name, bn.running_var)):
                        got = self.layer_value(name, key)
                        self.assertEqual(got.dtype, np.float16, key)
                        np.testing.assert_array_equal(got, want.numpy().astype(np.float16))
                    if state is torch_names:
                        self.assertEqual(self.layer_value(name, "bn.num_batches_tracked"), 4)

    def test_another_file_keeps_the_state_types(self):
        state = model_state("", self.rng)
        for kind, out in (("npz", "s.safetensors"), ("safetensors", "s.npz")):
            with self.subTest(kind=kind, out=out):
                name = self.write(kind, state)
                result = self.bnorm("apply", "x.npy", "-o", "y.npy", "--state", name,
                                    "--state-prefix", "bn1.", "--stats-out", out)
                self.assertEqual(result.status, 0, result)
                got, order = self.entries(out)
                self.assertEqual(sorted(order), sorted(["weight", "bias", "running_mean",
                                                        "running_var", "num_batches_tracked"]))
                expected, _ = torch_update(state, "bn1.", self.x)
                for short in ("weight", "bias", "running_mean", "running_var",
                              "num_batches_tracked"):
                    value = self.layer_value(out, short)
                    self.assertEqual(value.dtype, state["bn1." + short].dtype, short)
                    np.testing.assert_allclose(
                        value.astype(np.float64),
                        expected[short].astype(value.dtype).astype(np.float64), atol=0,
                        rtol=tolerance(value.dtype) if short != "num_batches_tracked" else 0)
        # A JSON state has no types: float64, as before.
        self.assertEqual(self.bnorm("apply", "x.npy", "-o", "y.npy", "--stats-out",
                                    "j.json").status, 0)
        self.assertEqual(self.bnorm("apply", "x.npy", "-o", "y.npy", "--state", "j.json",
                                    "--stats-out", "j.npz").status, 0)
        self.assertEqual(np.load(self.path("j.npz"))["running_var"].dtype, np.float64)

    def test_bfloat16_and_big_endian_statistics(self):
        mean = torch.tensor([0.5, -1.25, 2.0], dtype=torch.bfloat16)
        var = np.array([1.5, 2.0, 0.75], ">f4")
        raw = {"bn.running_mean": ("BF16", (3,), mean.view(torch.int16).numpy().tobytes()),
               "bn.running_var": ("F32", (3,), var.astype("<f4").tobytes())}
        bn = torch.nn.BatchNorm2d(CHANNELS).double()
        with torch.no_grad():
            bn.running_mean.copy_(mean.double())
            bn.running_var.copy_(torch.from_numpy(var.astype(np.float64)))
            bn.train()(torch.from_numpy(self.x.astype(np.float64)))
        want_mean = bn.running_mean.to(torch.bfloat16)
        # bfloat16: kept in .safetensors, in place or not; float32 (which holds it) in .npz.
        for out, dtype in (("m.safetensors", "BF16"), ("o.safetensors", "BF16"), ("o.npz", None)):
            with self.subTest(out=out):
                write_safetensors(self.path("m.safetensors"), raw)
                result = self.bnorm("apply", "x.npy", "-o", "y.npy", "--state", "m.safetensors",
                                    "--state-prefix", "bn", "--stats-out", out)
                self.assertEqual(result.status, 0, result)
                key = "bn.running_mean" if out == "m.safetensors" else "running_mean"
                if dtype:
                    tensors, _, _ = read_safetensors(self.path(out))
                    self.assertEqual(tensors[key][0], "BF16")
                    got = torch.frombuffer(bytearray(tensors[key][2]), dtype=torch.bfloat16)
                    self.assertTrue(torch.equal(got, want_mean), (got, want_mean))
                else:
                    got = np.load(self.path(out))[key]
                    self.assertEqual(got.dtype, np.float32)
                    # Computed in double and rounded once, to float32, not through bfloat16.
                    np.testing.assert_allclose(got, bn.running_mean.numpy().astype(np.float32),
                                               rtol=np.finfo(np.float32).eps, atol=0)
        # A big-endian float32 in an .npz: float32 again, little-endian (NumPy reads either).
        np.savez(self.path("be.npz"), **{"bn.running_mean": np.zeros(3, ">f4"),
                                         "bn.running_var": var, "fc.w": np.ones(2, ">f8")})
        result = self.bnorm("apply", "x.npy", "-o", "y.npy", "--state", "be.npz",
                            "--state-prefix", "bn.", "--stats-out", "be.npz")
        self.assertEqual(result.status, 0, result)
        with np.load(self.path("be.npz")) as z:
            self.assertEqual(z["bn.running_var"].dtype.str, "<f4")
            self.assertEqual(z["fc.w"].dtype.str, ">f8")
            np.testing.assert_allclose(z["bn.running_var"], bn.running_var.numpy().astype(np.float32),
                                       rtol=np.finfo(np.float32).eps, atol=0)

    def test_the_counter_keeps_its_integer_type_and_shape(self):
        for dtype, shape, count, kept in ((np.int32, (1,), 41, True), (np.uint8, (), 254, True),
                                          (np.int8, (), 127, False), (np.float32, (), 5, False)):
            with self.subTest(dtype=dtype, shape=shape, count=count):
                np.savez(self.path("c.npz"), **{
                    "bn.running_mean": np.zeros(CHANNELS), "bn.running_var": np.ones(CHANNELS),
                    "bn.num_batches_tracked": np.full(shape, count, dtype)})
                result = self.bnorm("apply", "x.npy", "-o", "y.npy", "--state", "c.npz",
                                    "--state-prefix", "bn.", "--stats-out", "c.npz")
                self.assertEqual(result.status, 0, result)
                got = np.load(self.path("c.npz"))["bn.num_batches_tracked"]
                # An integer type that holds the new count keeps it; else int64, as torch's.
                self.assertEqual(got.dtype, np.dtype(dtype) if kept else np.int64)
                self.assertEqual(got.shape, shape if kept else ())
                self.assertEqual(int(got.reshape(())), count + 1)

    def test_two_runs_updating_two_layers_of_one_file_lose_neither(self):
        # An input large enough that each run holds the state for a while: unlocked, the second
        # run would read the state before the first has replaced it.
        rounds = 12 if LARGE else 4
        self.x = self.rng.normal(size=(512, CHANNELS, 16, 16)).astype(np.float32)
        np.save(self.path("x.npy"), self.x)
        for kind in ("npz", "safetensors"):
            for round_ in range(rounds):
                with self.subTest(kind=kind, round=round_):
                    state = model_state("module.", self.rng)
                    name = self.write(kind, state)
                    runs = [subprocess.Popen(
                        [BNORM, "apply", "x.npy", "-o", f"y{layer}.npy", "--state", name,
                         "--state-prefix", f"bn{layer}.", "--stats-out", name],
                        cwd=self.dir, stderr=subprocess.PIPE) for layer in (1, 2)]
                    for run in runs:
                        _, err = run.communicate(timeout=60)
                        self.assertEqual(run.returncode, 0, err)
                    for layer in (1, 2):
                        prefix = f"module.bn{layer}."
                        expected, _ = torch_update(state, prefix, self.x)
                        got = self.layer_value(name, prefix + "running_mean")
                        np.testing.assert_allclose(
                            got.astype(np.float64),
                            expected["running_mean"].astype(got.dtype).astype(np.float64),
                            atol=0, rtol=tolerance(got.dtype))
                        self.assertEqual(int(self.layer_value(name, prefix + "num_batches_tracked")),
                                         int(state[prefix + "num_batches_tracked"]) + 1)


if __name__ == "__main__":
    unittest.main()
