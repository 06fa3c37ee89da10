#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Reading ONNX models against the ONNX library itself: models are built here with
onnx.helper (initializers in typed fields and raw_data, Constant nodes, float16, bfloat16 and
float64 parameters, nodes without names or sharing one, external data in a side file), and
every value bnorm reads is compared with numpy_helper.to_array of the same tensor.  `--state
model.onnx` in eval mode is checked against torch's batch_norm.  Hostile models (truncated,
wrong wire types, huge declared lengths, dims that overflow, raw_data of the wrong size,
nesting past the limit, external data leading out of the model's folder, external data from a
stream) are refused with exit 3 and one line, fast, in 256 MiB of address space, reading
nothing outside the folder; a tensor is never written as .onnx (exit 2)."""
import itertools
import json
import os
import pathlib
import re
import resource
import subprocess
import time
import unittest

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from cli_support import BNORM, SOURCE_DIR, Result, ScratchTestCase

CORPUS = SOURCE_DIR / "tests" / "fuzz" / "corpus" / "onnx"
MEMORY_LIMIT = 256 << 20
LARGE = os.environ.get("BNORM_LARGE_GRID") == "1"  # more channel counts
ROLES = {"weight": 1, "bias": 2, "running_mean": 3, "running_var": 4}  # BN input indices
ELEMENT = {np.float32: TensorProto.FLOAT, np.float16: TensorProto.FLOAT16,
           np.float64: TensorProto.DOUBLE, "bfloat16": TensorProto.BFLOAT16}


def limit_memory():
    if os.environ.get("BNORM_SANITIZED") != "1":
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def parameter(name, values, dtype, raw):
    """A TensorProto of `values` as `dtype`, in raw_data or in its typed field."""
    if dtype == "bfloat16" or not raw:
        # onnx.helper puts 16-bit floats' bits in int32_data (bfloat16 rounded from float32).
        return helper.make_tensor(name, ELEMENT[dtype], values.shape,
                                  values.astype(np.float64).tolist())
    return numpy_helper.from_array(values.astype(dtype), name)


def bn_graph(layers, opset=15, inputs=(), ir_version=None):
    """A chain x -> BN -> BN ... of `layers`: [(node name, {role: TensorProto or Constant
    node}, epsilon)], each parameter an initializer (a TensorProto) or a Constant node."""
    nodes, inits = [], []
    previous = "x"
    for i, (name, params, eps) in enumerate(layers):
        names = []
        for role in ROLES:
            p = params[role]
            if isinstance(p, onnx.NodeProto):
                nodes.append(p)
                names.append(p.output[0])
            elif isinstance(p, str):
                names.append(p)  # a graph input or a computed value
            else:
                inits.append(p)
                names.append(p.name)
        out = f"y{i}"
        nodes.append(helper.make_node("BatchNormalization", [previous, *names], [out], name=name,
                                      epsilon=eps))
        previous = out
    graph = helper.make_graph(
        nodes, "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", "C", "L"])]
        + [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["C"]) for n in inputs],
        [helper.make_tensor_value_info(previous, TensorProto.FLOAT, ["N", "C", "L"])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    if ir_version is not None:
        model.ir_version = ir_version
    return model


def random_params(rng, prefix, channels, dtype=np.float32, raw=True):
    values = {"weight": rng.random(channels) + 0.5, "bias": rng.normal(size=channels),
              "running_mean": rng.normal(size=channels),
              "running_var": rng.random(channels) + 0.1}
    return {role: parameter(f"{prefix}.{role}", v, dtype, raw) for role, v in values.items()}


class OnnxRead(ScratchTestCase):
    def save(self, model, name="m.onnx", check=True):
        if check:
            onnx.checker.check_model(model)
        self.path(name).write_bytes(model.SerializeToString())
        return name

    def layers(self, name, *flags):
        result = self.bnorm("layers", name, "--format", "json", *flags)
        self.assertEqual(result.status, 0, result)
        return json.loads(result.stdout)

    def read(self, model_name, tensor):
        """One tensor of the model as bnorm reads it, through a .npy."""
        result = self.bnorm("convert", model_name, "--tensor", tensor, "t.npy")
        self.assertEqual(result.status, 0, result)
        values = np.load(self.path("t.npy"))
        self.path("t.npy").unlink()
        return values

    def assertReadsAsLibrary(self, model_name, layer, tensors, base_dir=None):
        """bnorm's values of `layer` are numpy_helper.to_array's of `tensors` ({role: proto}),
        bit for bit, in a type that holds them (bfloat16 becomes float32, exactly)."""
        for role, proto in tensors.items():
            with self.subTest(layer=layer, role=role):
                want = numpy_helper.to_array(proto, str(base_dir) if base_dir else "")
                got = self.read(model_name, f"{layer}.{role}")
                self.assertEqual(got.dtype, want.dtype)
                self.assertEqual(got.shape, want.shape)
                np.testing.assert_array_equal(got, want)

    def assertRefusedFast(self, args, status, *phrases, stdin=None):
        start = time.monotonic()
        completed = subprocess.run([BNORM, *map(str, args)], cwd=self.dir, input=stdin,
                                   capture_output=True, timeout=20, preexec_fn=limit_memory)
        self.assertLess(time.monotonic() - start, 5)
        self.assertFailsWith(Result(completed), status, *phrases)

    def test_initializers_of_every_type_in_typed_fields_and_raw_data(self):
        rng = np.random.default_rng(1)
        for dtype, raw, channels in itertools.product(
                (np.float32, np.float16, "bfloat16", np.float64), (True, False),
                (1, 2, 7, 64, 4099) if LARGE else (5,)):
            if dtype == "bfloat16" and raw:
                continue  # onnx.helper writes bfloat16 in int32_data only: built below
            with self.subTest(dtype=str(dtype), raw=raw, channels=channels):
                params = random_params(rng, "p", channels, dtype, raw)
                name = self.save(bn_graph([("bn", params, 1e-3)]))
                report = self.layers(name)
                self.assertEqual([l["prefix"] for l in report["layers"]], ["bn."])
                want_type = {np.float32: "float32", np.float16: "float16",
                             np.float64: "float64", "bfloat16": "bfloat16"}[dtype]
                self.assertEqual({t["dtype"] for t in report["layers"][0]["tensors"].values()},
                                 {want_type})
                self.assertReadsAsLibrary(name, "bn", params)
        # bfloat16 in raw_data: the bits of the int32_data model, little-endian.
        params = random_params(rng, "p", 4, "bfloat16", raw=False)
        for proto in params.values():
            bits = np.array(proto.int32_data, dtype=np.uint16)
            proto.ClearField("int32_data")
            proto.raw_data = bits.astype("<u2").tobytes()
        name = self.save(bn_graph([("bn", params, 1e-5)]))
        self.assertReadsAsLibrary(name, "bn", params)

    def test_constant_nodes_value_and_value_floats(self):
        rng = np.random.default_rng(2)
        tensors = random_params(rng, "c", 3)
        params, reference = {}, {}
        for role, proto in tensors.items():
            if role in ("weight", "running_mean"):  # value: a TensorProto
                params[role] = helper.make_node("Constant", [], [f"k_{role}"], value=proto)
                reference[role] = proto
            else:  # value_floats: a list of float32
                floats = numpy_helper.to_array(proto).tolist()
                params[role] = helper.make_node("Constant", [], [f"k_{role}"], value_floats=floats)
                reference[role] = numpy_helper.from_array(np.array(floats, np.float32))
        name = self.save(bn_graph([("bn", params, 1e-5)]))
        self.assertReadsAsLibrary(name, "bn", reference)

    def test_layer_names_unnamed_duplicate_and_skipped(self):
        rng = np.random.default_rng(3)
        layers = [("", random_params(rng, "a", 2), 1e-5),       # no name: its output y0
                  ("twin", random_params(rng, "b", 2), 1e-5),   # a shared name: outputs
                  ("twin", random_params(rng, "c", 2), 1e-5),
                  ("solo", random_params(rng, "d", 2), 1e-5)]
        skipped = random_params(rng, "e", 2)
        skipped["running_mean"] = "mean_input"  # a graph input: no state to read
        layers.append(("from_input", skipped, 1e-5))
        name = self.save(bn_graph(layers, inputs=("mean_input",)))
        report = self.layers(name)
        self.assertEqual([l["prefix"] for l in report["layers"]], ["y0.", "y1.", "y2.", "solo."])
        self.assertReadsAsLibrary(name, "y0", layers[0][1])
        self.assertReadsAsLibrary(name, "y2", layers[2][1])
        self.assertReadsAsLibrary(name, "solo", layers[3][1])

    def test_initializer_overridden_by_graph_input(self):
        rng = np.random.default_rng(4)
        params = random_params(rng, "p", 2)
        model = bn_graph([("bn", params, 1e-5)], inputs=("p.running_var",))
        name = self.save(model)
        result = self.bnorm("layers", name, "--format", "json")
        self.assertFailsWith(result, 3, "no batch-normalization layer")
        model.ir_version = 3  # every initializer is listed as an input: still constant
        model.opset_import[0].version = 7
        name = self.save(model, check=False)
        self.assertEqual([l["prefix"] for l in self.layers(name)["layers"]], ["bn."])

    def test_external_data_in_a_side_file(self):
        rng = np.random.default_rng(5)
        params = random_params(rng, "p", 6, np.float64)
        model = bn_graph([("bn", params, 1e-5)])
        (self.dir / "model").mkdir()
        onnx.save_model(model, str(self.path("model/m.onnx")), save_as_external_data=True,
                        all_tensors_to_one_file=True, location="weights.bin", size_threshold=0)
        saved = onnx.load(str(self.path("model/m.onnx")), load_external_data=False)
        self.assertTrue(all(t.data_location == TensorProto.EXTERNAL
                            for t in saved.graph.initializer))
        offsets = {e.value for t in saved.graph.initializer for e in t.external_data
                   if e.key == "offset"}
        self.assertGreater(len(offsets), 1)  # the tensors lie at different offsets of one file
        by_role = {role: next(t for t in saved.graph.initializer if t.name == p.name)
                   for role, p in params.items()}
        self.assertReadsAsLibrary("model/m.onnx", "bn", by_role, base_dir=self.dir / "model")
        # The folder is the model's, not the working directory's.
        result = subprocess.run([BNORM, "layers", "m.onnx", "--format", "json"],
                                cwd=self.dir / "model", capture_output=True)
        self.assertEqual(result.returncode, 0, result.stderr)

    def external_model(self, location):
        rng = np.random.default_rng(6)
        params = random_params(rng, "p", 2)
        model = bn_graph([("bn", params, 1e-5)])
        t = model.graph.initializer[3]  # running_var
        size = len(t.raw_data)
        t.ClearField("raw_data")
        t.data_location = TensorProto.EXTERNAL
        for key, value in (("location", location), ("offset", "0"), ("length", str(size))):
            entry = t.external_data.add()
            entry.key, entry.value = key, value
        (self.dir / "model").mkdir(exist_ok=True)
        self.save(model, "model/m.onnx", check=False)
        return "model/m.onnx"

    def test_external_data_leading_out_of_the_folder_is_refused_unread(self):
        # Every target outside is a FIFO: opening one would block, so a refusal within the
        # time limit shows that nothing outside was opened.
        outside = self.dir / "outside"
        outside.mkdir()
        os.mkfifo(outside / "secret.bin")
        (self.dir / "model").mkdir()
        os.symlink(outside / "secret.bin", self.dir / "model" / "link.bin")
        os.symlink(outside, self.dir / "model" / "linked")
        cases = {
            str(outside / "secret.bin"): "is an absolute path",
            "../outside/secret.bin": "leads out of the model's folder",
            "sub/../../outside/secret.bin": "leads out of the model's folder",
            "link.bin": "goes through a symbolic link ('link.bin')",
            "linked/secret.bin": "goes through a symbolic link ('linked')",
        }
        for location, phrase in cases.items():
            with self.subTest(location=location):
                name = self.external_model(location)
                self.assertRefusedFast(["layers", name], 3, f"bnorm: error: {name}: ",
                                       "input_var", phrase)

    def test_external_data_from_standard_input_is_refused(self):
        name = self.external_model("weights.bin")
        self.assertRefusedFast(["layers", "-"], 3, "<stdin>: ", "'weights.bin'",
                               "a model read from a stream has no folder",
                               stdin=self.path(name).read_bytes())
        # Without external data, standard input reads (its format told by its bytes).
        rng = np.random.default_rng(7)
        params = random_params(rng, "p", 3)
        model = bn_graph([("bn", params, 1e-5)])
        result = self.bnorm("layers", "-", "--format", "json", stdin=model.SerializeToString())
        self.assertEqual(result.status, 0, result)
        self.assertEqual(json.loads(result.stdout)["layers"][0]["prefix"], "bn.")

    def test_hostile_models_are_refused_fast_in_little_memory(self):
        rng = np.random.default_rng(8)
        good = bn_graph([("bn", random_params(rng, "p", 3), 1e-5)])
        data = good.SerializeToString()
        graph_at = data.index(b"\x3a")

        def changed(change):
            model = onnx.ModelProto()
            model.CopyFrom(good)
            change(model.graph.initializer[0])
            return model.SerializeToString()

        def nested(levels):
            graph = helper.make_graph([], "leaf", [], [])
            for _ in range(levels):
                node = helper.make_node("If", ["c"], ["o"], then_branch=graph)
                graph = helper.make_graph([node], "level", [], [])
            return helper.make_model(graph).SerializeToString()

        cases = {
            "truncated": (data[:len(data) // 2], "declares"),
            "truncated-last-byte": (data[:-1], "left"),
            "wrong-wire-type": (data[:graph_at] + b"\x3f" + data[graph_at + 1:], "wire type 7"),
            "huge-length": (data[:graph_at] + b"\x3a\xff\xff\xff\xff\x07" + data[graph_at + 2:],
                            "declares 2147483647 bytes"),
            "dims-overflow": (changed(lambda t: (t.ClearField("dims"),
                                                 t.dims.extend([1 << 62, 1 << 62, 4]))),
                              "dimensions whose product is over 1099511627776 elements"),
            "raw-data-size": (changed(lambda t: setattr(t, "raw_data", t.raw_data[:-2])),
                              "its raw_data holds 10 bytes, and its dims declare 3 elements"),
            "deep-nesting": (nested(40), "messages nest more than 64 deep"),
        }
        for case, (content, phrase) in cases.items():
            with self.subTest(case=case):
                self.path("h.onnx").write_bytes(content)
                self.assertRefusedFast(["layers", "h.onnx"], 3, "bnorm: error: h.onnx: ", phrase)
                self.assertEqual(sorted(p.name for p in self.dir.iterdir()),
                                 ["h.onnx", "samples"])

    def test_fuzz_seeds(self):
        for seed in sorted(CORPUS.iterdir()):
            with self.subTest(seed=seed.name):
                self.path("s.onnx").write_bytes(seed.read_bytes())
                completed = subprocess.run([BNORM, "layers", "s.onnx", "--format", "json"],
                                           cwd=self.dir, capture_output=True, timeout=20,
                                           preexec_fn=limit_memory)
                result = Result(completed)
                if seed.name.startswith("valid"):
                    self.assertEqual(result.status, 0, result)
                else:
                    self.assertFailsWith(result, 3, "bnorm: error: s.onnx: ")

    def test_no_tensor_is_written_as_onnx(self):
        rng = np.random.default_rng(9)
        name = self.save(bn_graph([("bn", random_params(rng, "p", 2), 1e-5)]))
        np.save(self.path("x.npy"), rng.normal(size=(3, 2)).astype(np.float32))
        refused = "bnorm writes no tensor as an .onnx file"
        for args in (["convert", "x.npy", "y.onnx"],
                     ["convert", "x.npy", "-", "--output-format", "onnx"],
                     ["convert", name, "--tensor", "bn.weight", "-"],
                     ["apply", "x.npy", "-o", "y.onnx"],
                     ["apply", "x.npy", "-o", "y.npy", "--stats-out", "s.onnx"],
                     ["apply", "x.npy", "-o", "y.npy", "--state", name, "--state-prefix", "bn.",
                      "--stats-out", name],
                     ["fold", "x.npy", "--state", name, "--state-prefix", "bn.", "--axis", "-1",
                      "-o", "w.npy", "--bias-out", "b.onnx"]):
            with self.subTest(args=args):
                before = self.path(name).read_bytes()
                result = self.bnorm(*args)
                self.assertFailsWith(result, 2, refused)
                self.assertEqual(sorted(p.name for p in self.dir.iterdir()),
                                 sorted([name, "x.npy", "samples"]))
                self.assertEqual(self.path(name).read_bytes(), before)

    def test_state_in_eval_mode_against_torch(self):
        import torch
        rng = np.random.default_rng(10)
        for dtype in (np.float32, np.float16):
            with self.subTest(dtype=dtype.__name__):
                params = random_params(rng, "p", 4, dtype)
                eps = np.float32(2e-3)
                name = self.save(bn_graph([("bn_node", params, float(eps))]))
                x = rng.normal(size=(3, 4, 5)).astype(np.float32)
                np.save(self.path("x.npy"), x)
                for prefix in ("bn_node", "bn_node."):
                    result = self.bnorm("apply", "x.npy", "-o", "y.npy", "--mode", "eval",
                                        "--convention", "onnx", "--eps", repr(float(eps)),
                                        "--state", name, "--state-prefix", prefix)
                    self.assertEqual(result.status, 0, result)
                    p = {r: torch.from_numpy(numpy_helper.to_array(t).astype(np.float64))
                         for r, t in params.items()}
                    want = torch.nn.functional.batch_norm(
                        torch.from_numpy(x.astype(np.float64)), p["running_mean"],
                        p["running_var"], p["weight"], p["bias"], training=False,
                        eps=float(eps)).numpy().astype(np.float32)
                    np.testing.assert_array_equal(np.load(self.path("y.npy")), want)

    def test_told_by_its_bytes_and_version(self):
        rng = np.random.default_rng(11)
        self.save(bn_graph([("bn", random_params(rng, "p", 2), 1e-5)]), name="model")
        self.assertEqual([l["prefix"] for l in self.layers("model")["layers"]], ["bn."])
        version = self.bnorm("--version")
        self.assertEqual(version.status, 0)
        lines = version.stdout.decode().splitlines()
        # The version of the headers built against, as libprotobuf-dev installs them.
        header = pathlib.Path("/usr/include/google/protobuf/stubs/common.h").read_text()
        number = int(re.search(r"#define GOOGLE_PROTOBUF_VERSION (\d+)", header).group(1))
        dotted = f"{number // 1000000}.{number // 1000 % 1000}.{number % 1000}"
        self.assertIn(f"protobuf: {dotted} (linked in)", lines)
        self.assertTrue(any(l.startswith(f"ONNX schema: {onnx.__version__}") for l in lines),
                        lines)


if __name__ == "__main__":
    unittest.main()
