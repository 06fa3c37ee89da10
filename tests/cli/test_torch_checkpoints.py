# SPDX-License-Identifier: Apache-2.0
"""PyTorch checkpoints (.pt) against PyTorch itself: every tensor bnorm reads equals what
torch.load gives (bits and dtype), `apply --state model.pt` equals the torch.nn batch-norm
module, a written --stats-out .pt is what torch.load(weights_only=True) reads back as the
module's state after one training step, and hostile files are refused with exit 3 while
nothing in them runs.  The checkpoints come from tests/golden/make_torch_goldens.py (torch.save
of a trained net), written into each test's scratch folder; the hostile ones are pickles
assembled here, opcode by opcode, put into archives that torch's own writer makes.

Needs Debian's python3-torch (/usr/bin/python3).  BNORM_LARGE_GRID=1 also runs every layer
with several input shapes and batch sizes."""
import collections
import json
import os
import pathlib
import shutil
import struct
import subprocess
import sys
import unittest
import zipfile

import numpy as np
import torch

from cli_support import SOURCE_DIR, ScratchTestCase

sys.path.insert(0, str(SOURCE_DIR / "tests" / "golden"))
import make_torch_goldens as goldens  # noqa: E402

LARGE = os.environ.get("BNORM_LARGE_GRID") == "1"
STATE_VARIANTS = [v for v in goldens.WRAPPERS if v != "views"]
SAFETENSORS_DTYPES = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16,
                      "BF16": torch.bfloat16}
# y in float32: torch's float32 module against bnorm's double arithmetic rounded once (the
# house margin, tests/golden/make_goldens.py's Y_TOL).  Running statistics: torch accumulates
# in double and rounds to the state's dtype, as bnorm does; float32 leaves a few ulp.
Y_RTOL, Y_ATOL = 1e-5, 1e-5
STATE_TOL = {torch.float32: (1e-6, 1e-7), torch.float16: (1e-3, 1e-3),
             torch.bfloat16: (8e-3, 8e-3)}


def read_safetensors(path):
    """{name: torch tensor} from a .safetensors file, parsed by its specification."""
    raw = pathlib.Path(path).read_bytes()
    (length,) = struct.unpack_from("<Q", raw)
    header = json.loads(raw[8:8 + length])
    header.pop("__metadata__", None)
    out = {}
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        data = bytearray(raw[8 + length + begin:8 + length + end])
        dtype = SAFETENSORS_DTYPES[entry["dtype"]]
        out[name] = torch.frombuffer(data, dtype=dtype).reshape(entry["shape"]) if data else \
            torch.empty(entry["shape"], dtype=dtype)
    return out


def bits(tensor):
    """The tensor's values as raw bytes, in C order."""
    t = tensor.detach().contiguous().reshape(-1)
    return t.view(torch.int16).numpy().tobytes() if t.dtype == torch.bfloat16 else t.numpy().tobytes()


def layer_input(prefix, seed, batch=4, spatial=3):
    """A float32 batch for the layer at `prefix`: (N, C), (N, C, H, W) or (N, C, D, H, W)."""
    _, channels, rank = goldens.LAYERS[prefix]
    generator = torch.Generator().manual_seed(seed)
    shape = (batch, channels) + (spatial,) * (rank - 2)
    return (torch.randn(shape, generator=generator) * 1.5 + 0.3).float()


class CheckpointTestCase(ScratchTestCase):
    def setUp(self):
        super().setUp()
        self.paths = goldens.write_checkpoints(self.dir)
        self.loaded = {}

    def tensors(self, variant):
        if variant not in self.loaded:
            self.loaded[variant] = goldens.tensors_of(torch.load(self.paths[variant]), variant)
        return self.loaded[variant]

    def apply(self, x, variant, prefix, *flags, out="y.npy", state=None):
        np.save(self.path("x.npy"), x.numpy())
        return self.bnorm("apply", "x.npy", "--state", state or self.paths[variant].name,
                          "--state-prefix", prefix, "-o", out, *flags)


class ReadsWhatTorchLoads(CheckpointTestCase):
    """convert --tensor NAME of every tensor of every checkpoint: torch.load's dtype and bits."""

    def check_variant(self, variant):
        for name, expected in self.tensors(variant).items():
            with self.subTest(variant=variant, tensor=name):
                if expected.is_floating_point():
                    result = self.bnorm("convert", self.paths[variant].name, "--tensor", name,
                                        "t.safetensors")
                    self.assertEqual(result.status, 0, result)
                    (got,) = read_safetensors(self.path("t.safetensors")).values()
                    self.assertEqual(got.dtype, expected.dtype)
                    self.assertEqual(tuple(got.shape), tuple(expected.shape))
                    self.assertEqual(bits(got), bits(expected))
                else:  # integers are written as floats; float64 holds these exactly
                    result = self.bnorm("convert", self.paths[variant].name, "--tensor", name,
                                        "--dtype", "float64", "t.npy")
                    self.assertEqual(result.status, 0, result)
                    got = np.load(self.path("t.npy"))
                    self.assertEqual(got.shape, tuple(expected.shape))
                    np.testing.assert_array_equal(got, expected.double().numpy())

    def test_every_variant(self):
        for variant in goldens.WRAPPERS:
            self.check_variant(variant)

    def test_views_are_torch_values(self):
        # The views' strides and offsets are what the file says (a copy would hide them).
        views = self.tensors("views")
        self.assertEqual(views["strided"].stride(), (3,))
        self.assertEqual(views["offset"].storage_offset(), 5)
        self.assertEqual(views["transposed"].stride(), (1, 4))
        self.assertEqual(views["shared_b"].storage_offset(), 4)
        self.check_variant("views")

    def test_every_storage_type_and_view(self):
        """Each typed storage torch writes (Double ... Bool) under each kind of view (a step,
        a transpose, an offset, a broadcast with stride 0, a 0-d element), with its extreme
        values: floats to the bit (NaN, ±inf, -0.0, subnormals), integers exactly."""
        generator = torch.Generator().manual_seed(3)
        finite = torch.randn(6, 10, generator=generator, dtype=torch.float64) * 100
        extremes = {
            torch.float64: [float("nan"), float("inf"), -float("inf"), -0.0, 5e-324, 1.7e308],
            torch.float32: [float("nan"), float("inf"), -0.0, 1e-45, 3.4e38],
            torch.float16: [float("nan"), -float("inf"), -0.0, 6e-8, 65504.0],
            torch.bfloat16: [float("nan"), float("inf"), -0.0, 1e-40, 3.38e38],
            torch.int64: [-2**53, 2**53, -1],
            torch.int32: [-2**31, 2**31 - 1],
            torch.int16: [-2**15, 2**15 - 1],
            torch.int8: [-128, 127],
            torch.uint8: [0, 255],
            torch.bool: [True, False],
        }
        saved = {}
        for dtype, special in extremes.items():
            if dtype == torch.bool:
                base = finite > 0
            elif dtype.is_floating_point:
                base = finite.to(dtype)
            else:
                info = torch.iinfo(dtype)
                base = finite.clamp(info.min, info.max).to(dtype)
            base.view(-1)[:len(special)] = torch.tensor(special, dtype=dtype)
            name = str(dtype).split(".")[1]
            saved[f"{name}.whole"] = base
            saved[f"{name}.step"] = base[:, 1::3]
            saved[f"{name}.transposed"] = base.t()
            saved[f"{name}.offset"] = base[2:, 4:]
            saved[f"{name}.broadcast"] = base[1].expand(3, 10)
            saved[f"{name}.element"] = base[0, 1]
        torch.save(saved, self.path("grid.pt"))
        self.assertEqual(saved["float32.broadcast"].stride(), (0, 1))
        for name, expected in torch.load(self.path("grid.pt")).items():
            with self.subTest(tensor=name):
                if expected.is_floating_point():
                    result = self.bnorm("convert", "grid.pt", "--tensor", name, "t.safetensors")
                    self.assertEqual(result.status, 0, result)
                    (got,) = read_safetensors(self.path("t.safetensors")).values()
                    self.assertEqual(got.dtype, expected.dtype)
                    self.assertEqual(tuple(got.shape), tuple(expected.shape))
                    self.assertEqual(bits(got), bits(expected))
                else:
                    result = self.bnorm("convert", "grid.pt", "--tensor", name, "--dtype",
                                        "float64", "t.npy")
                    self.assertEqual(result.status, 0, result)
                    got = np.load(self.path("t.npy"))
                    self.assertEqual(got.shape, tuple(expected.shape))
                    np.testing.assert_array_equal(got, expected.double().numpy())

    def test_the_sample(self):
        expected = torch.load(self.path("samples/resnet_tiny.pt"))
        for name in ("bn1.running_var", "layer1.0.bn2.weight", "bn3d.running_mean"):
            result = self.bnorm("convert", "samples/resnet_tiny.pt", "--tensor", name,
                                "t.safetensors")
            self.assertEqual(result.status, 0, result)
            (got,) = read_safetensors(self.path("t.safetensors")).values()
            self.assertEqual(bits(got), bits(expected[name]))


class EvalEqualsTheModule(CheckpointTestCase):
    """apply --mode eval with the state of each layer of each checkpoint equals that layer,
    as a torch.nn module in eval mode, on the same float32 input."""

    def check(self, variant, prefix, given_prefix, seed, **shape):
        x = layer_input(prefix, seed, **shape)
        module = goldens.layer(prefix, self.tensors(variant) if not goldens.WRAPPERS[variant][1]
                               else {k[len(goldens.WRAPPERS[variant][1]):]: v
                                     for k, v in self.tensors(variant).items()})
        with torch.no_grad():
            expected = module.eval()(x).numpy()
        result = self.apply(x, variant, given_prefix, "--mode", "eval")
        self.assertEqual(result.status, 0, result)
        y = np.load(self.path("y.npy"))
        self.assertEqual(y.dtype, np.float32)
        np.testing.assert_allclose(y, expected, rtol=Y_RTOL, atol=Y_ATOL)
        # The layer's own statistics were used, not the defaults (mean 0, var 1).
        self.assertFalse(np.allclose(y, x.numpy(), rtol=1e-3, atol=1e-3))

    def grid(self, variants, full_prefix):
        shapes = [{}] + ([{"batch": 1}, {"batch": 7, "spatial": 5}] if LARGE else [])
        for variant in variants:
            wrapper_prefix = goldens.WRAPPERS[variant][1]
            for n, prefix in enumerate(goldens.LAYERS):
                for shape in shapes:
                    given = wrapper_prefix + prefix if full_prefix else prefix
                    with self.subTest(variant=variant, prefix=given, **shape):
                        self.check(variant, prefix, given, seed=n, **shape)

    def test_full_prefixes(self):
        """The prefix as the file spells it (module.bn1. in a DataParallel state_dict)."""
        self.grid(STATE_VARIANTS, full_prefix=True)

    def test_bare_prefixes_find_module_and_model(self):
        """bn1. finds module.bn1.* (DataParallel) and model.bn1.* (Lightning)."""
        self.grid(["data_parallel", "lightning"], full_prefix=False)

    def test_wrong_prefix_lists_the_layers(self):
        result = self.apply(layer_input("bn1.", 0), "state_dict", "bn9.", "--mode", "eval")
        # The first five, sorted, so that a list cut at five or eight shows them.
        self.assertFailsWith(result, 3, "'bn9.'", "'bn0.'", "'bn1.'", "'bn3d.'", "'bn_fc.'",
                             "'layer1.0.bn1.'")
        self.assertNoStrayFiles("x.npy", *[p.name for p in self.paths.values()])

    def test_input_from_a_pt(self):
        """--tensor NAME reads the input from a .pt of saved activations; one tensor saved alone
        is read without it; a non-contiguous activation gives torch's values."""
        prefix = "bn1."
        x = layer_input(prefix, 11)
        # (C, N, H, W) in memory, (N, C, H, W) as a view: strides (C-major) torch keeps.
        transposed = x.transpose(0, 1).contiguous().transpose(0, 1)
        self.assertFalse(transposed.is_contiguous())
        torch.save({"features": x, "transposed": transposed, "logits": torch.randn(4, 5)},
                   self.path("acts.pt"))
        torch.save(x, self.path("one.pt"))
        module = goldens.layer(prefix, self.tensors("state_dict"))
        with torch.no_grad():
            expected = module.eval()(x).numpy()
        for source in (["acts.pt", "--tensor", "features"], ["acts.pt", "--tensor", "transposed"],
                       ["one.pt"]):
            with self.subTest(source=source):
                result = self.bnorm("apply", *source, "--state", "state_dict.pt",
                                    "--state-prefix", prefix, "--mode", "eval", "-o", "y.npy")
                self.assertEqual(result.status, 0, result)
                np.testing.assert_allclose(np.load(self.path("y.npy")), expected, rtol=Y_RTOL,
                                           atol=Y_ATOL)

    def test_the_samples(self):
        """The README's examples: samples/batch.npy through bn0. (BatchNorm2d(3)) and
        samples/features.json through bn_fc. (BatchNorm1d(3)) of samples/resnet_tiny.pt."""
        state = torch.load(self.path("samples/resnet_tiny.pt"))
        batch = torch.from_numpy(np.load(self.path("samples/batch.npy")))
        features = torch.tensor(json.loads(self.path("samples/features.json").read_text()),
                                dtype=torch.float64)
        for source, prefix, x, out in (("samples/batch.npy", "bn0.", batch, "y.npy"),
                                       ("samples/features.json", "bn_fc.", features, "y.json")):
            with self.subTest(prefix=prefix):
                module = goldens.layer(prefix, state).to(x.dtype)
                with torch.no_grad():
                    expected = module.eval()(x).numpy()
                result = self.bnorm("apply", source, "--state", "samples/resnet_tiny.pt",
                                    "--state-prefix", prefix, "--mode", "eval", "-o", out)
                self.assertEqual(result.status, 0, result)
                got = np.load(self.path(out)) if out.endswith(".npy") else \
                    np.array(json.loads(self.path(out).read_text()))
                rtol, atol = (Y_RTOL, Y_ATOL) if x.dtype == torch.float32 else (1e-12, 1e-12)
                np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol)


class TrainWritesWhatTorchReads(CheckpointTestCase):
    """apply in train mode with --stats-out new.pt: torch.load(new.pt, weights_only=True) is
    the module's state after one training step on the same input, in the state's dtypes."""

    def reference(self, variant, prefix, x):
        module = goldens.layer(prefix, self.tensors(variant))
        module.train()
        with torch.no_grad():
            y = module(x).numpy()
        return y, module.state_dict()

    def written_state(self, path, prefix):
        state = torch.load(path, weights_only=True)
        # A state_dict, with PyTorch's names, with or without the layer's prefix.
        return {k[len(prefix):] if k.startswith(prefix) else k: v for k, v in state.items()}

    def test_every_layer_and_dtype(self):
        for variant in ("state_dict", "half", "bfloat16"):
            for n, prefix in enumerate(goldens.LAYERS):
                with self.subTest(variant=variant, prefix=prefix):
                    x = layer_input(prefix, 100 + n)
                    y_expected, expected = self.reference(variant, prefix, x)
                    result = self.apply(x, variant, prefix, "--stats-out", "new.pt")
                    self.assertEqual(result.status, 0, result)
                    np.testing.assert_allclose(np.load(self.path("y.npy")), y_expected,
                                               rtol=Y_RTOL, atol=Y_ATOL)
                    got = self.written_state(self.path("new.pt"), prefix)
                    self.assertEqual(sorted(got), sorted(expected))
                    original = {k[len(prefix):]: v for k, v in self.tensors(variant).items()
                                if k.startswith(prefix)}
                    for key, want in expected.items():
                        self.assertEqual(got[key].dtype, original[key].dtype, key)
                        self.assertEqual(tuple(got[key].shape), tuple(want.shape), key)
                        if key == "num_batches_tracked":
                            self.assertEqual(int(got[key]), goldens.TRAIN_STEPS + 1)
                            continue
                        rtol, atol = STATE_TOL[original[key].dtype]
                        np.testing.assert_allclose(got[key].double().numpy(),
                                                   want.double().numpy(), rtol=rtol, atol=atol,
                                                   err_msg=key)
                    # weight and bias pass through unchanged, bit for bit.
                    for key in ("weight", "bias"):
                        self.assertEqual(bits(got[key]), bits(original[key]), key)

    def test_in_place_update_keeps_every_other_entry(self):
        """--stats-out naming the --state checkpoint replaces the layer's entries only."""
        for variant in ("wrapped_state_dict", "data_parallel", "lightning", "half"):
            with self.subTest(variant=variant):
                name = f"inplace_{variant}.pt"
                shutil.copy(self.paths[variant], self.path(name))
                before = torch.load(self.path(name))
                wrapper_prefix = goldens.WRAPPERS[variant][1]
                prefix = "layer1.0.bn2."
                x = layer_input(prefix, 7)
                unprefixed = {k[len(wrapper_prefix):]: v
                              for k, v in goldens.tensors_of(before, variant).items()}
                module = goldens.layer(prefix, unprefixed).train()
                with torch.no_grad():
                    module(x)
                result = self.apply(x, variant, wrapper_prefix + prefix, "--stats-out", name,
                                    state=name)
                self.assertEqual(result.status, 0, result)
                # torch 1.13's weights_only unpickler knows no BINFLOAT, which the optimizer's
                # lr needs: a wrapped checkpoint is read back as torch read it before.
                after = torch.load(self.path(name), weights_only=not goldens.WRAPPERS[variant][0])
                self.assertEqual(sorted(after), sorted(before))
                for key in before:
                    if key != goldens.WRAPPERS[variant][0] and goldens.WRAPPERS[variant][0]:
                        self.assertEqual(repr(after[key]), repr(before[key]), key)
                old = goldens.tensors_of(before, variant)
                new = goldens.tensors_of(after, variant)
                self.assertEqual(list(new), list(old))  # names, in their order
                layer_keys = {wrapper_prefix + prefix + k for k in module.state_dict()}
                for key, tensor in old.items():
                    self.assertEqual(new[key].dtype, tensor.dtype, key)
                    self.assertEqual(tuple(new[key].shape), tuple(tensor.shape), key)
                    if key not in layer_keys or key.endswith(("weight", "bias")):
                        self.assertEqual(bits(new[key]), bits(tensor), key)
                for key, want in module.state_dict().items():
                    got = new[wrapper_prefix + prefix + key]
                    if key == "num_batches_tracked":
                        self.assertEqual(int(got), goldens.TRAIN_STEPS + 1)
                    elif key.startswith("running"):
                        rtol, atol = STATE_TOL[got.dtype]
                        np.testing.assert_allclose(got.double().numpy(), want.double().numpy(),
                                                   rtol=rtol, atol=atol, err_msg=key)


class TensorsBesideTheStateDict(CheckpointTestCase):
    """A checkpoint whose top level holds tensors of its own beside the state_dict it wraps:
    pytorch/examples' ImageNet script saves best_acc1 as a tensor next to 'state_dict'.  The
    layers are the wrapped state_dict's, read, listed and updated in place as torch sees them."""

    EXTRAS = {"best_acc1": lambda: torch.tensor(71.25),
              "ema_decay": lambda: torch.tensor([0.999], dtype=torch.float64)}

    def checkpoint(self, wrapper, extra):
        state = goldens.tensors_of(torch.load(self.paths["state_dict"]), "state_dict")
        saved = {"epoch": 3, wrapper: state, extra: self.EXTRAS[extra](), "arch": "tiny"}
        name = f"{wrapper}_{extra}.pth"
        torch.save(saved, self.path(name))
        return name, state

    def test_the_wrapped_state_dict_is_read_listed_and_updated(self):
        prefix = "layer1.0.bn2."
        for wrapper in ("state_dict", "model_state_dict", "model"):
            for extra in self.EXTRAS:
                with self.subTest(wrapper=wrapper, extra=extra):
                    name, state = self.checkpoint(wrapper, extra)
                    layers = self.bnorm("layers", name, "--format", "json")
                    self.assertEqual(layers.status, 0, layers)
                    found = [layer["prefix"] for layer in json.loads(layers.stdout)["layers"]]
                    self.assertEqual(found, list(goldens.LAYERS))
                    x = layer_input(prefix, 21)
                    module = goldens.layer(prefix, state)
                    with torch.no_grad():
                        expected = module.eval()(x).numpy()
                    result = self.apply(x, "state_dict", prefix, "--mode", "eval", state=name)
                    self.assertEqual(result.status, 0, result)
                    np.testing.assert_allclose(np.load(self.path("y.npy")), expected,
                                               rtol=Y_RTOL, atol=Y_ATOL)
                    before = torch.load(self.path(name))
                    result = self.apply(x, "state_dict", prefix, "--stats-out", name, state=name)
                    self.assertEqual(result.status, 0, result)
                    after = torch.load(self.path(name))
                    self.assertEqual(list(after), list(before))
                    self.assertEqual(bits(after[extra]), bits(before[extra]))
                    self.assertEqual(after[extra].dtype, before[extra].dtype)
                    self.assertEqual(int(after[wrapper][prefix + "num_batches_tracked"]),
                                     int(before[wrapper][prefix + "num_batches_tracked"]) + 1)


class InPlaceKeepsTheDevice(ScratchTestCase):
    """A checkpoint saved from a GPU names each storage's device ('cuda:0'), which torch.load
    restores: the layer's replaced storages keep theirs, as every other storage does."""

    def locations(self, path):
        seen = []
        torch.load(path, map_location=lambda storage, location: seen.append(location) or storage)
        return seen

    def test_replaced_storages_keep_their_location(self):
        import torch.serialization as serialization
        for location in ("cuda:0", "cuda:1", "cpu"):
            with self.subTest(location=location):
                bn = torch.nn.BatchNorm1d(3)
                state = collections.OrderedDict(("bn." + k, v) for k, v in bn.state_dict().items())
                state["fc.weight"] = torch.randn(2, 3)
                tag = serialization.location_tag
                serialization.location_tag = lambda storage: location
                try:
                    torch.save({"state_dict": state}, self.path("gpu.pt"))
                finally:
                    serialization.location_tag = tag
                before = self.locations(self.path("gpu.pt"))
                self.assertEqual(before, [location] * 6)
                np.save(self.path("x.npy"), np.random.default_rng(3).normal(size=(4, 3)))
                result = self.bnorm("apply", "x.npy", "-o", "y.npy", "--state", "gpu.pt",
                                    "--state-prefix", "bn", "--stats-out", "gpu.pt")
                self.assertEqual(result.status, 0, result)
                self.assertEqual(self.locations(self.path("gpu.pt")), before)


# ---------------------------------------------------------------------------------------------
# Pickles assembled by hand (protocol 2 opcodes, as pickletools documents them).

def op_unicode(text):
    data = text.encode()
    return b"X" + struct.pack("<I", len(data)) + data


def op_int(value):
    return b"J" + struct.pack("<i", value)


def op_global(module, name):
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def op_tuple(*items):
    return b"(" + b"".join(items) + b"t"


PROTO, STOP, REDUCE, MARK, SETITEMS = b"\x80\x02", b".", b"R", b"(", b"u"
ORDERED_DICT = op_global("collections", "OrderedDict") + b")" + REDUCE


def op_tensor(key, numel, offset, size, stride, storage="FloatStorage"):
    """torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())
    with the storage as a persistent id ('storage', type, key, 'cpu', numel)."""
    persistent = op_tuple(op_unicode("storage"), op_global("torch", storage), op_unicode(key),
                          op_unicode("cpu"), op_int(numel))
    return (op_global("torch._utils", "_rebuild_tensor_v2") + MARK + persistent + b"Q" +
            op_int(offset) + op_tuple(*map(op_int, size)) + op_tuple(*map(op_int, stride)) +
            b"\x89" + ORDERED_DICT + b"t" + REDUCE)


def state_pickle(*entries):
    """An OrderedDict of (name, tensor opcodes) as torch.save(state_dict) pickles it."""
    body = b"".join(op_unicode(name) + tensor for name, tensor in entries)
    return PROTO + ORDERED_DICT + MARK + body + SETITEMS + STOP


VALID_PICKLE = state_pickle(("weight", op_tensor("0", 5, 0, (5,), (1,))))
VALID_RECORD = struct.pack("<5f", 1.5, -2.0, 0.25, 3.0, 7.0)


def torch_archive(path, pickle_bytes, records=None):
    """A .pt file as torch.save lays it out (torch's own ZIP writer: records under the file's
    stem, 64-byte alignment, data descriptors, version), with `pickle_bytes` as data.pkl."""
    records = {"0": VALID_RECORD} if records is None else records
    writer = torch._C.PyTorchFileWriter(str(path))
    writer.write_record("data.pkl", pickle_bytes, len(pickle_bytes))
    for key, data in records.items():
        writer.write_record(f"data/{key}", data, len(data))
    writer.write_end_of_file()
    return path


class RefusesHostileCheckpoints(ScratchTestCase):
    """Each hostile checkpoint: exit 3, one line on stderr naming the problem, nothing written,
    nothing executed."""

    def refuse(self, name, *phrases):
        np.save(self.path("x.npy"), np.ones((2, 5), np.float32))
        result = self.bnorm("apply", "x.npy", "--state", name, "--mode", "eval", "-o", "y.npy")
        self.assertFailsWith(result, 3, name)
        lowered = result.stderr.replace(name, "").lower()  # the words, not the file's name
        for phrase in phrases:
            alternatives = phrase if isinstance(phrase, tuple) else (phrase,)
            self.assertTrue(any(a.lower() in lowered for a in alternatives),
                            f"none of {alternatives} in {result.stderr!r}")
        self.assertFalse(self.path("y.npy").exists())
        return result

    def hostile(self, name, pickle_bytes, *phrases, records=None):
        torch_archive(self.path(name), pickle_bytes, records)
        return self.refuse(name, *phrases)

    def test_the_hand_made_archive_is_valid(self):
        """The control: torch and bnorm both read the archive the hostile ones start from."""
        path = torch_archive(self.path("valid.pt"), VALID_PICKLE)
        expected = torch.load(path, weights_only=True)["weight"]
        np.save(self.path("x.npy"), np.ones((2, 5), np.float32))
        result = self.bnorm("convert", "valid.pt", "--tensor", "weight", "w.safetensors")
        self.assertEqual(result.status, 0, result)
        self.assertEqual(bits(read_safetensors(self.path("w.safetensors"))["weight"]),
                         bits(expected))

    def check_never_runs(self, module, name, argument):
        canary = self.path("canary")
        payload = PROTO + op_global(module, name) + argument(str(canary)) + b"\x85" + REDUCE + STOP
        # The payload is live: Python's own unpickler runs it and makes the canary.
        subprocess.run([sys.executable, "-c", "import pickle, sys; "
                        "pickle.loads(sys.stdin.buffer.read())"], input=payload, check=True)
        if module == "subprocess":
            for _ in range(100):
                if canary.exists():
                    break
                subprocess.run(["sleep", "0.02"])
        self.assertTrue(canary.exists())
        canary.unlink()
        self.hostile("evil.pt", payload, name)
        self.assertFalse(canary.exists())

    def test_global_os_system(self):
        self.check_never_runs("os", "system", lambda c: op_unicode(f"touch '{c}'"))

    def test_global_builtins_eval(self):
        self.check_never_runs("builtins", "eval", lambda c: op_unicode(f"open({c!r}, 'w')"))

    def test_global_subprocess_popen(self):
        self.check_never_runs("subprocess", "Popen",
                              lambda c: b"]" + MARK + op_unicode("touch") + op_unicode(c) + b"e")

    def test_every_opcode_that_calls(self):
        """The other ways a pickle calls a function: STACK_GLOBAL (protocol 4's GLOBAL), INST,
        OBJ, and NEWOBJ and NEWOBJ_EX on a class (which call only its __new__, so that those
        two are not live; the others are, under Python's unpickler)."""
        canary = self.path("canary")
        touch = op_unicode(f"touch '{canary}'")
        argv = b"]" + MARK + op_unicode("touch") + op_unicode(str(canary)) + b"e"
        payloads = {
            "stack_global": (b"\x80\x04" + op_unicode("os") + op_unicode("system") + b"\x93" +
                             touch + b"\x85" + REDUCE + STOP, "system", True),
            "inst": (PROTO + MARK + touch + b"ios\nsystem\n" + STOP, ("system", "inst"), True),
            "obj": (PROTO + MARK + op_global("os", "system") + touch + b"o" + STOP,
                    ("system", "obj"), True),
            "newobj": (PROTO + op_global("subprocess", "Popen") + argv + b"\x85" + b"\x81" +
                       STOP, ("popen", "newobj"), False),
            "newobj_ex": (b"\x80\x04" + op_global("subprocess", "Popen") + argv + b"\x85" +
                          b"}" + b"\x92" + STOP, ("popen", "newobj_ex"), False),
        }
        for name, (payload, words, live) in payloads.items():
            with self.subTest(opcode=name):
                if not live:
                    self.hostile(f"{name}.pt", payload, words)
                    continue
                subprocess.run([sys.executable, "-c", "import pickle, sys\ntry:\n "
                                "pickle.loads(sys.stdin.buffer.read())\nexcept Exception: pass"],
                               input=payload, check=True)
                for _ in range(100):
                    if canary.exists():
                        break
                    subprocess.run(["sleep", "0.02"])
                self.assertTrue(canary.exists(), "the payload is not live")
                canary.unlink()
                self.hostile(f"{name}.pt", payload, words)
                subprocess.run(["sleep", "0.1"])
                self.assertFalse(canary.exists())

    def test_global_in_a_tensor(self):
        # A disallowed global where a tensor's storage type goes.
        self.hostile("evil.pt", state_pickle(("w", op_tensor("0", 5, 0, (5,), (1,),
                                                             storage="posix"))), "posix")

    def test_reduce_of_an_allowed_function_with_wrong_arguments(self):
        bad = PROTO + op_global("torch._utils", "_rebuild_tensor_v2") + op_tuple(
            op_unicode("x")) + REDUCE + STOP
        self.hostile("rebuild.pt", bad, "_rebuild_tensor_v2")
        bad = PROTO + op_global("collections", "OrderedDict") + op_tuple(op_int(1), op_int(2)) + \
            REDUCE + STOP
        self.hostile("ordered.pt", bad, "OrderedDict")

    def test_memo_index_out_of_range(self):
        self.hostile("get.pt", PROTO + b"}q\x00h\x05" + STOP, "memo")
        self.hostile("longget.pt", PROTO + b"}j\xff\xff\xff\xff" + STOP, "memo")

    def test_stack_underflow(self):
        self.hostile("tuple2.pt", PROTO + b"\x86" + STOP, ("stack", "empty", "underflow"))
        self.hostile("setitems.pt", PROTO + b"}" + SETITEMS + STOP, ("mark", "stack"))
        self.hostile("stop.pt", PROTO + STOP, ("stack", "empty", "nothing"))

    def test_deep_nesting(self):
        depth = 200000
        nested = PROTO + b"]" * depth + b"a" * (depth - 1) + STOP
        self.hostile("lists.pt", nested, ("deep", "nest", "stack", "depth", "limit"))
        self.hostile("marks.pt", PROTO + MARK * depth + b")" + STOP,
                     ("deep", "nest", "stack", "depth", "mark", "limit"))

    def test_storage_size_not_numel_times_itemsize(self):
        self.hostile("short.pt", VALID_PICKLE, "data/0", records={"0": VALID_RECORD[:12]})
        self.hostile("long.pt", VALID_PICKLE, "data/0", records={"0": VALID_RECORD + b"\0" * 4})

    def test_missing_storage_record(self):
        self.hostile("missing.pt", VALID_PICKLE, "data/0", records={})

    def test_tensor_past_its_storage(self):
        past = state_pickle(("weight", op_tensor("0", 5, 3, (5,), (1,))))
        self.hostile("p1.pt", past, ("storage", "past", "beyond", "outside"))
        strided = state_pickle(("weight", op_tensor("0", 5, 0, (3,), (3,))))
        self.hostile("p2.pt", strided, ("storage", "past", "beyond", "outside"))

    def test_two_data_pkl_records(self):
        torch_archive(self.path("one.pt"), VALID_PICKLE)
        with zipfile.ZipFile(self.path("one.pt")) as source, \
                zipfile.ZipFile(self.path("two.pt"), "w") as target:
            for info in source.infolist():
                target.writestr(info.filename, source.read(info))
            import warnings
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                target.writestr("one/data.pkl", VALID_PICKLE)
        self.refuse("two.pt", "data.pkl", ("twice", "two", "duplicate", "more than one"))

    def test_build_into_a_non_dict(self):
        self.hostile("list.pt", PROTO + b"]}" + b"b" + STOP, "build")
        # BUILD on a tensor (torch's own state dicts BUILD only their OrderedDict).
        bad = PROTO + op_tensor("0", 5, 0, (5,), (1,)) + b"}" + MARK + op_unicode("a") + \
            op_int(1) + SETITEMS + b"b" + STOP
        self.hostile("tensor.pt", bad, "build")

    def test_torchscript_archive(self):
        torch.jit.save(torch.jit.script(torch.nn.BatchNorm2d(3)), str(self.path("script.pt")))
        self.refuse("script.pt", "torchscript", "state_dict")

    def test_legacy_format(self):
        torch.save(torch.nn.BatchNorm2d(3).state_dict(), self.path("legacy.pt"),
                   _use_new_zipfile_serialization=False)
        self.refuse("legacy.pt", ("legacy", "1.6", "_use_new_zipfile_serialization"))

    def test_whole_module(self):
        torch.save(torch.nn.BatchNorm2d(3), self.path("module.pt"))
        self.refuse("module.pt", "state_dict")
        model, _, _ = goldens.trained_model()
        torch.save(model, self.path("model.pt"))
        self.refuse("model.pt", "state_dict")


if __name__ == "__main__":
    unittest.main()
