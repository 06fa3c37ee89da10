#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
""".npz, .safetensors and bfloat16 through the command line, checked against NumPy: np.savez
and np.savez_compressed inputs with several members (--tensor), outputs read back with
np.load, safetensors files written here by hand (struct + json) and read back by a reference
parser written here from the format's rules, bfloat16 rounded in NumPy from float64 by bit
manipulation, and PyTorch state_dict-shaped states under a prefix."""
import json
import os
import resource
import struct
import subprocess
import unittest

import numpy as np

from cli_support import BNORM, ScratchTestCase, digest, write_safetensors

RNG = np.random.default_rng(6)


def batch_norm_train(x, eps=1e-5, axis=1):
    """PyTorch's train-mode batch norm without affine, in float64."""
    axes = tuple(a for a in range(x.ndim) if a != axis)
    x = x.astype(np.float64)
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(var + eps)


SAFETENSORS_DTYPES = {"F16": "<f2", "F32": "<f4", "F64": "<f8", "I64": "<i8", "BF16": "<u2"}


def read_safetensors(path):
    """A reference reader following the format's rules: returns (header text, {name: (dtype,
    array)}), checking that the tensors tile the data area and the header is 8-byte padded."""
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    text = raw[8:8 + n]
    header = json.loads(text)
    data = raw[8 + n:]
    end = 0
    tensors = {}
    for name, entry in sorted(((k, v) for k, v in header.items() if k != "__metadata__"),
                              key=lambda kv: kv[1]["data_offsets"]):
        begin, stop = entry["data_offsets"]
        assert begin == end, (name, begin, end)
        end = stop
        array = np.frombuffer(data[begin:stop], SAFETENSORS_DTYPES[entry["dtype"]])
        tensors[name] = (entry["dtype"], array.reshape(entry["shape"]))
    assert end == len(data)
    assert (8 + n) % 8 == 0
    return text, tensors


def bf16_bits_from_float64(values):
    """Round float64 to bfloat16 (nearest, ties to even) straight from the float64 bits: add
    just under half of the 45 dropped bits plus the lowest kept bit, then keep the top bits;
    the result, a float64 with 8 significant bits, converts to float32 exactly.  Normal
    range only (asserted)."""
    values = np.asarray(values, np.float64)
    finite = values[values != 0]
    assert np.all((np.abs(finite) > 2.0 ** -126) & (np.abs(finite) < 2.0 ** 127))
    bits = values.view(np.uint64)
    keep = (bits >> np.uint64(45)) & np.uint64(1)
    rounded = (bits + np.uint64((1 << 44) - 1) + keep) & ~np.uint64((1 << 45) - 1)
    as32 = rounded.view(np.float64).astype(np.float32)
    return (as32.view(np.uint32) >> np.uint32(16)).astype(np.uint16)


def bf16_to_float64(bits):
    return (np.asarray(bits, np.uint16).astype(np.uint32) << np.uint32(16)).view(np.float32).astype(np.float64)


class Npz(ScratchTestCase):
    def setUp(self):
        super().setUp()
        self.a = RNG.normal(3, 2, size=(4, 3, 5)).astype(np.float32)
        self.b = RNG.normal(size=(6, 2)).astype(np.float64)
        self.c = np.asfortranarray(RNG.normal(size=(5, 4)).astype(np.float16))
        np.save(self.path("a.npy"), self.a)

    def test_savez_and_savez_compressed_members_by_name(self):
        for save, name in ((np.savez, "s.npz"), (np.savez_compressed, "c.npz")):
            save(self.path(name), a=self.a, b=self.b, c=self.c)
            for member, array in (("a", self.a), ("b", self.b), ("c", self.c)):
                with self.subTest(file=name, member=member):
                    out = f"y-{member}.npy"
                    result = self.bnorm("apply", name, "--tensor", member, "-o", out, "--no-affine")
                    self.assertEqual(result.status, 0, result)
                    y = np.load(self.path(out))
                    self.assertEqual(y.dtype, array.dtype)
                    expected = batch_norm_train(array).astype(array.dtype)
                    np.testing.assert_allclose(y, expected, rtol=1e-6 if array.dtype != np.float16 else 1e-3,
                                               atol=1e-6 if array.dtype != np.float16 else 2e-3)

    def test_member_reads_exactly_like_the_same_npy(self):
        np.savez_compressed(self.path("c.npz"), a=self.a, b=self.b)
        self.assertEqual(self.bnorm("apply", "a.npy", "-o", "ref.npy", "--stats-out", "ref.json").status, 0)
        result = self.bnorm("apply", "c.npz", "--tensor", "a", "-o", "y.npy", "--stats-out", "s.json")
        self.assertEqual(result.status, 0, result)
        self.assertEqual(digest(self.path("y.npy")), digest(self.path("ref.npy")))
        self.assertEqual(self.path("s.json").read_text(), self.path("ref.json").read_text())

    def test_output_npz_reads_back_with_np_load(self):
        np.savez(self.path("s.npz"), a=self.a, b=self.b)
        self.assertEqual(self.bnorm("apply", "a.npy", "-o", "ref.npy").status, 0)
        result = self.bnorm("apply", "s.npz", "--tensor", "a", "-o", "y.npz")
        self.assertEqual(result.status, 0, result)
        with np.load(self.path("y.npz")) as y:
            self.assertEqual(y.files, ["a"])  # named as the input tensor
            np.testing.assert_array_equal(y["a"], np.load(self.path("ref.npy")))
        self.assertEqual(self.bnorm("apply", "a.npy", "-o", "z.npz").status, 0)
        with np.load(self.path("z.npz")) as z:
            self.assertEqual(z.files, ["x"])  # no name to keep: "x"
        self.assertEqual(self.bnorm("convert", "s.npz", "--tensor", "b", "b.npz").status, 0)
        with np.load(self.path("b.npz")) as b:
            np.testing.assert_array_equal(b["b"], self.b)

    def test_fortran_order_member_survives(self):
        np.savez(self.path("f.npz"), c=self.c)
        self.assertEqual(self.bnorm("convert", "f.npz", "out.npz").status, 0)
        with np.load(self.path("out.npz")) as out:
            self.assertTrue(out["c"].flags.f_contiguous)
            np.testing.assert_array_equal(out["c"], self.c)

    def test_several_tensors_need_tensor_and_a_wrong_name_lists_them(self):
        np.savez(self.path("s.npz"), a=self.a, b=self.b)
        self.assertFailsWith(self.bnorm("apply", "s.npz", "-o", "y.npy"), 2,
                             "s.npz holds 2 tensors ('a', 'b'): pick one with --tensor NAME")
        self.assertFailsWith(self.bnorm("stats", "s.npz", "--tensor", "q"), 2,
                             "s.npz has no tensor 'q' (it has 'a', 'b')")
        self.assertFailsWith(self.bnorm("apply", "a.npy", "--tensor", "a", "-o", "y.npy"), 2,
                             "--tensor picks a tensor of a .pt, .npz, .safetensors or .onnx file")
        self.assertNoStrayFiles("a.npy", "s.npz")

    def test_stats_and_compare_take_tensor(self):
        np.savez(self.path("s.npz"), a=self.a, b=self.b)
        result = self.bnorm("stats", "s.npz", "--tensor", "a", "--format", "json")
        self.assertEqual(result.status, 0, result)
        stats = json.loads(result.stdout)
        np.testing.assert_allclose(stats["mean"], self.a.astype(np.float64).mean(axis=(0, 2)), rtol=1e-12)
        self.assertEqual(self.bnorm("compare", "s.npz", "a.npy", "--tensor", "a").status, 0)

    def test_backward_and_fold_take_tensor(self):
        g = RNG.normal(size=self.a.shape).astype(np.float32)
        w = RNG.normal(size=(3, 7)).astype(np.float32)
        np.save(self.path("g.npy"), g)
        np.save(self.path("w.npy"), w)
        np.savez(self.path("m.npz"), a=self.a, w=w)
        for name, args in (("backward", ["--grad-output", "g.npy"]),
                           ("fold", ["--state", "samples/state.json", "--bias-out", "{}-b.npy"])):
            with self.subTest(command=name):
                inside, alone = ("a", "a.npy") if name == "backward" else ("w", "w.npy")
                ref = self.bnorm(name, alone, *[a.format("ref") for a in args], "-o", "ref.npy")
                self.assertEqual(ref.status, 0, ref)
                result = self.bnorm(name, "m.npz", "--tensor", inside, *[a.format("y") for a in args],
                                    "-o", "y.npy")
                self.assertEqual(result.status, 0, result)
                self.assertEqual(digest(self.path("y.npy")), digest(self.path("ref.npy")))

    def test_corrupt_member_is_refused_without_output(self):
        np.savez(self.path("s.npz"), a=self.a)
        raw = bytearray(self.path("s.npz").read_bytes())
        raw[200] ^= 0xFF  # a data byte of member a.npy
        self.path("bad.npz").write_bytes(bytes(raw))
        before = digest(self.path("bad.npz"))
        self.assertFailsWith(self.bnorm("apply", "bad.npz", "-o", "y.npy"), 3,
                             "bnorm: error: bad.npz: member 'a.npy' at byte", "CRC-32 mismatch")
        self.assertEqual(digest(self.path("bad.npz")), before)
        self.assertNoStrayFiles("a.npy", "s.npz", "bad.npz")


class Safetensors(ScratchTestCase):
    def setUp(self):
        super().setUp()
        self.x = RNG.normal(1, 3, size=(8, 4, 3, 3)).astype(np.float32)

    def test_f32_input_and_output_against_numpy(self):
        write_safetensors(self.path("x.safetensors"), {"input": ("F32", self.x.shape, self.x.tobytes())},
                          metadata={"format": "pt"})
        result = self.bnorm("apply", "x.safetensors", "-o", "y.safetensors", "--no-affine")
        self.assertEqual(result.status, 0, result)
        text, tensors = read_safetensors(self.path("y.safetensors"))
        self.assertEqual(list(tensors), ["input"])
        dtype, y = tensors["input"]
        self.assertEqual(dtype, "F32")
        np.testing.assert_allclose(y, batch_norm_train(self.x).astype(np.float32), rtol=1e-6, atol=1e-6)

    def test_bf16_in_bf16_out_rounded_from_double(self):
        bits = bf16_bits_from_float64(self.x.astype(np.float64))
        x16 = bf16_to_float64(bits)
        write_safetensors(self.path("x.safetensors"), {"x": ("BF16", self.x.shape, bits.tobytes())})
        result = self.bnorm("apply", "x.safetensors", "-o", "y.safetensors", "--stats-out", "s.json")
        self.assertEqual(result.status, 0, result)
        _, tensors = read_safetensors(self.path("y.safetensors"))
        dtype, y = tensors["x"]
        self.assertEqual(dtype, "BF16")
        expected = bf16_bits_from_float64(batch_norm_train(x16))
        np.testing.assert_array_equal(y, expected)
        stats = json.loads(self.path("s.json").read_text())
        self.assertEqual(stats["dtype"], "bfloat16")
        np.testing.assert_allclose(stats["mean"], x16.mean(axis=(0, 2, 3)), rtol=1e-13)
        # Formats without bfloat16 get float32 (the double result rounded once, to float32).
        result = self.bnorm("apply", "x.safetensors", "-o", "y.npy")
        self.assertEqual(result.status, 0, result)
        y32 = np.load(self.path("y.npy"))
        self.assertEqual(y32.dtype, np.float32)
        np.testing.assert_allclose(y32, batch_norm_train(x16).astype(np.float32), rtol=1e-6, atol=1e-6)

    def test_convert_to_bf16_rounds_like_numpy_bit_manipulation(self):
        values = np.concatenate([RNG.normal(size=1000) * 10.0 ** RNG.integers(-30, 30, size=1000),
                                 # ties of bfloat16 and their neighbours
                                 [1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -8 + 2 ** -30, -(1 + 2 ** -8)]])
        np.save(self.path("v.npy"), values.reshape(2, -1))
        result = self.bnorm("convert", "v.npy", "v.safetensors", "--dtype", "bfloat16")
        self.assertEqual(result.status, 0, result)
        _, tensors = read_safetensors(self.path("v.safetensors"))
        self.assertEqual(tensors["x"][0], "BF16")
        np.testing.assert_array_equal(tensors["x"][1].ravel(), bf16_bits_from_float64(values))

    def test_standard_output_equals_the_file(self):
        np.save(self.path("a.npy"), self.x)
        self.assertEqual(self.bnorm("apply", "a.npy", "-o", "y.safetensors").status, 0)
        result = self.bnorm("apply", "a.npy", "-o", "-", "--output-format", "safetensors")
        self.assertEqual(result.status, 0, result)
        self.assertEqual(result.stdout, self.path("y.safetensors").read_bytes())
        np.save(self.path("f.npy"), np.asfortranarray(self.x))
        self.assertEqual(self.bnorm("apply", "f.npy", "-o", "f.safetensors").status, 0)
        _, tensors = read_safetensors(self.path("f.safetensors"))
        _, expected = read_safetensors(self.path("y.safetensors"))
        np.testing.assert_array_equal(tensors["x"][1], expected["x"][1])  # C order either way

    def test_writer_order_and_padding_match_the_spec(self):
        np.save(self.path("a.npy"), self.x)
        self.assertEqual(self.bnorm("apply", "a.npy", "-o", "y.npy", "--stats-out", "s.safetensors").status, 0)
        text, tensors = read_safetensors(self.path("s.safetensors"))
        # Decreasing dtype alignment (I64 before F64), then by name.
        self.assertEqual(list(json.loads(text)), ["num_batches_tracked", "bias", "running_mean",
                                                  "running_var", "weight"])
        self.assertEqual(tensors["num_batches_tracked"][0], "I64")
        self.assertEqual(tensors["num_batches_tracked"][1].shape, ())

    def test_state_dict_with_prefix_equals_the_json_state(self):
        channels = self.x.shape[1]
        state = {"weight": RNG.uniform(0.5, 2, channels), "bias": RNG.normal(size=channels),
                 "running_mean": RNG.normal(size=channels), "running_var": RNG.uniform(0.5, 2, channels)}
        tensors = {}
        for layer in ("layer1.0.bn1.", "layer1.0.bn2."):
            tensors[layer + "conv_like"] = ("F32", (2, 2), np.ones((2, 2), np.float32).tobytes())
            for key, values in state.items():
                tensors[layer + key] = ("F32", (channels,), values.astype(np.float32).tobytes())
            tensors[layer + "num_batches_tracked"] = ("I64", (), np.int64(5).tobytes())
        write_safetensors(self.path("model.safetensors"), tensors)
        json_state = {k: v.astype(np.float32).astype(np.float64).tolist() for k, v in state.items()}
        json_state["num_batches_tracked"] = 5
        self.path("state.json").write_text(json.dumps(json_state))
        np.save(self.path("x.npy"), self.x)
        for mode in ("train", "eval"):
            with self.subTest(mode=mode):
                ref = self.bnorm("apply", "x.npy", "-o", "ref.npy", "--mode", mode, "--state", "state.json",
                                 "--stats-out", "ref.json")
                self.assertEqual(ref.status, 0, ref)
                result = self.bnorm("apply", "x.npy", "-o", "y.npy", "--mode", mode, "--state",
                                    "model.safetensors", "--state-prefix", "layer1.0.bn1.",
                                    "--stats-out", "s.json")
                self.assertEqual(result.status, 0, result)
                self.assertEqual(digest(self.path("y.npy")), digest(self.path("ref.npy")))
                self.assertEqual(self.path("s.json").read_text(), self.path("ref.json").read_text())
        result = self.bnorm("apply", "x.npy", "-o", "y2.npy", "--state", "model.safetensors",
                            "--state-prefix", "layer2.")
        self.assertFailsWith(result, 3, "model.safetensors: no state tensor", "under the prefix 'layer2.'",
                             "prefixes of a batch-norm layer (running_mean and running_var): "
                             "'layer1.0.bn1.', 'layer1.0.bn2.'")
        self.assertFalse(self.path("y2.npy").exists())

    def test_keras_names_in_npz_and_duplicates_across_conventions(self):
        channels = self.x.shape[1]
        np.save(self.path("x.npy"), self.x)
        keras = dict(gamma=np.full(channels, 2.0), beta=np.full(channels, 0.5),
                     moving_mean=np.zeros(channels), moving_variance=np.ones(channels))
        np.savez(self.path("k.npz"), **keras)
        result = self.bnorm("apply", "x.npy", "-o", "y.npy", "--mode", "eval", "--state", "k.npz")
        self.assertEqual(result.status, 0, result)
        np.testing.assert_allclose(np.load(self.path("y.npy")),
                                   (self.x.astype(np.float64) / np.sqrt(1 + 1e-5) * 2 + 0.5).astype(np.float32),
                                   rtol=1e-6)
        np.savez(self.path("both.npz"), weight=np.ones(channels), **keras)
        self.assertFailsWith(self.bnorm("apply", "x.npy", "-o", "y3.npy", "--state", "both.npz"), 3,
                             "both.npz: both 'weight' and 'gamma' are given")
        self.assertFailsWith(self.bnorm("apply", "x.npy", "-o", "y3.npy", "--state-prefix", "a."), 2,
                             "--state-prefix needs --state")

    def test_stats_out_round_trips_as_state_like_json(self):
        np.save(self.path("x.npy"), self.x)
        for suffix in (".safetensors", ".npz"):
            with self.subTest(suffix=suffix):
                first_json = self.bnorm("apply", "x.npy", "-o", "y.npy", "--momentum", "0.3",
                                        "--stats-out", "s1.json")
                first_tensors = self.bnorm("apply", "x.npy", "-o", "y.npy", "--momentum", "0.3",
                                           "--stats-out", "s1" + suffix)
                self.assertEqual((first_json.status, first_tensors.status), (0, 0))
                self.assertEqual(self.bnorm("apply", "x.npy", "-o", "ref.npy", "--momentum", "0.3",
                                            "--state", "s1.json", "--stats-out", "s2.json").status, 0)
                self.assertEqual(self.bnorm("apply", "x.npy", "-o", "y.npy", "--momentum", "0.3",
                                            "--state", "s1" + suffix, "--stats-out", "s2b.json").status, 0)
                self.assertEqual(digest(self.path("y.npy")), digest(self.path("ref.npy")))
                self.assertEqual(self.path("s2b.json").read_text(), self.path("s2.json").read_text())
                s1 = json.loads(self.path("s1.json").read_text())
                if suffix == ".npz":
                    with np.load(self.path("s1.npz")) as saved:
                        stored = {k: saved[k] for k in saved.files}
                else:
                    stored = {k: v for k, (_, v) in read_safetensors(self.path("s1.safetensors"))[1].items()}
                for key in ("weight", "bias", "running_mean", "running_var"):
                    np.testing.assert_array_equal(stored[key], s1[key])
                self.assertEqual(stored["num_batches_tracked"].dtype, np.int64)
                self.assertEqual(int(stored["num_batches_tracked"]), s1["num_batches_tracked"])

    def test_hostile_header_is_refused_without_output(self):
        write_safetensors(self.path("overlap.safetensors"),
                          {"a": ("F32", (2,), b"\0" * 8), "b": ("F32", (1,), b"\0" * 4)})
        raw = self.path("overlap.safetensors").read_bytes().replace(b"[8, 12]", b"[4, 8]  ")
        self.path("overlap.safetensors").write_bytes(raw)
        write_safetensors(self.path("bf16-odd.safetensors"), {"x": ("BF16", (2, 2), b"\0" * 7)})
        self.path("beyond.safetensors").write_bytes(struct.pack("<Q", 1000) + b"{}")
        expectations = {"beyond.safetensors": "header length 1000 at byte 0 runs past the end",
                        "overlap.safetensors": "tensor 'b' starts at data byte 4, but the tensors before it end at 8 (overlap)",
                        "bf16-odd.safetensors": "data_offsets [0, 7] do not span the 8 bytes"}
        for name, phrase in expectations.items():
            with self.subTest(name=name):
                before = digest(self.path(name))
                self.assertFailsWith(self.bnorm("apply", name, "--tensor", "a" if name.startswith("overlap") else "x",
                                                "-o", "y.npy"), 3, f"bnorm: error: {name}: ", phrase)
                self.assertEqual(digest(self.path(name)), before)
        self.assertNoStrayFiles(*expectations)


class ReadInPlace(ScratchTestCase):
    @unittest.skipIf(os.environ.get("BNORM_SANITIZED") == "1",
                     "a sanitized build reserves terabytes of address space")
    def test_stored_member_and_safetensors_larger_than_the_memory_limit(self):
        # 128 MiB of float32 through a process allowed 48 MiB of address space: a stored .npz
        # member and a safetensors tensor are read where they lie, never loaded whole.
        x = np.random.default_rng(14).normal(2.0, 3.0, size=(32, 8, 512, 256)).astype(np.float32)
        limit = 48 << 20
        np.savez(self.path("x.npz"), small=np.ones((2, 2)), x=x)
        write_safetensors(self.path("x.safetensors"), {"x": ("F32", x.shape, x.tobytes())})
        expected = x.astype(np.float64).mean(axis=(0, 2, 3))

        def limit_memory():
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

        for name in ("x.npz", "x.safetensors"):
            with self.subTest(file=name):
                self.assertGreater(self.path(name).stat().st_size, 2 * limit)
                completed = subprocess.run([BNORM, "apply", name, "--tensor", "x", "-o", "y.npy",
                                            "--stats-out", "s.json"], cwd=self.dir,
                                           capture_output=True, preexec_fn=limit_memory)
                self.assertEqual(completed.returncode, 0, completed.stderr)
                stats = json.loads(self.path("s.json").read_text())
                np.testing.assert_allclose(stats["mean"], expected, rtol=1e-12)
                # A C-order safetensors output streams too.
                completed = subprocess.run([BNORM, "convert", name, "--tensor", "x", "y.safetensors"],
                                           cwd=self.dir, capture_output=True, preexec_fn=limit_memory)
                self.assertEqual(completed.returncode, 0, completed.stderr)
                self.assertEqual(self.path("y.safetensors").read_bytes()[-4096:], x.tobytes()[-4096:])
                y = np.load(self.path("y.npy"), mmap_mode="r")
                self.assertEqual(y.shape, x.shape)
                np.testing.assert_allclose(y[:2], ((x[:2] - expected[None, :, None, None]) /
                                                   np.sqrt(np.asarray(stats["var"])[None, :, None, None] + 1e-5)),
                                           rtol=1e-4, atol=1e-5)


if __name__ == "__main__":
    unittest.main()
