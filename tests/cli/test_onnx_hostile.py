#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Small ONNX models built to cost a reader far more than their size: many BatchNormalization
nodes naming one large constant (each must be decoded once, not once per node), and many nodes
whose inputs are looked up among many nodes (each lookup must not scan the graph).  Values are
compared with onnx's numpy_helper; memory is held to 256 MiB of address space and time to a few
seconds, where the reader as it was needed gigabytes or minutes."""
import json
import os
import resource
import subprocess
import time
import unittest

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from cli_support import BNORM, Result, ScratchTestCase

MEMORY_LIMIT = 256 << 20
LARGE = os.environ.get("BNORM_LARGE_GRID") == "1"
# Under the sanitizers the run checks that these paths are safe, not what they cost (the
# Release run does): a tenth of the sizes keeps it to seconds.
SANITIZED = os.environ.get("BNORM_SANITIZED") == "1"
SCALE = 10 if SANITIZED else 1


def limit_memory():
    if os.environ.get("BNORM_SANITIZED") != "1":
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def bn_model(count, inputs, constants, nodes_before=()):
    """`count` BatchNormalization nodes bn0, bn1, ... on x, each with the parameter names
    `inputs(i)`, after `nodes_before` (Constant nodes), with the initializers `constants`."""
    nodes = list(nodes_before)
    nodes += [helper.make_node("BatchNormalization", ["x", *inputs(i)], [f"y{i}"], name=f"bn{i}")
              for i in range(count)]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                         ["N", "C"])],
                              [helper.make_tensor_value_info("y0", TensorProto.FLOAT, ["N", "C"])],
                              constants)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)])


class OnnxHostile(ScratchTestCase):
    def run_limited(self, *args):
        start = time.monotonic()
        completed = subprocess.run([BNORM, *map(str, args)], cwd=self.dir, capture_output=True,
                                   timeout=120, preexec_fn=limit_memory)
        return Result(completed), time.monotonic() - start

    def test_a_constant_shared_by_many_nodes_is_decoded_once(self):
        # 2000 nodes x 4 inputs x 65536 doubles would be 4 GiB if each input were decoded anew.
        channels, count = 65536, 2000 // SCALE
        rng = np.random.default_rng(14)
        values = rng.random(channels).astype(np.float32) + 0.5
        forms = {
            "raw_data": lambda: ([numpy_helper.from_array(values, "p")], []),
            "float_data": lambda: ([helper.make_tensor("p", TensorProto.FLOAT, [channels],
                                                       values.tolist())], []),
            "float16 int32_data": lambda: ([helper.make_tensor(
                "p", TensorProto.FLOAT16, [channels], values.astype(np.float16).tolist())], []),
            "Constant value": lambda: ([], [helper.make_node(
                "Constant", [], ["p"], value=numpy_helper.from_array(values, "t"))]),
            "Constant value_floats": lambda: ([], [helper.make_node(
                "Constant", [], ["p"], value_floats=values.tolist())]),
        }
        for form, make in forms.items():
            for sharing in ("every input", "one role"):
                with self.subTest(form=form, sharing=sharing):
                    constants, before = make()
                    if sharing == "every input":
                        inputs = lambda i: ["p"] * 4
                    else:
                        # Each node's own scale, B and mean, all sharing one input_var.
                        small = [numpy_helper.from_array(np.ones(channels, np.float32) * k,
                                                         f"own{k}") for k in range(3)]
                        constants = constants + small
                        inputs = lambda i: ["own0", "own1", "own2", "p"]
                    model = bn_model(count, inputs, constants, before)
                    self.path("m.onnx").write_bytes(model.SerializeToString())
                    want = (numpy_helper.to_array(constants[0]) if constants and
                            constants[0].name == "p" else values)
                    for layer in ("bn0", f"bn{count - 1}"):
                        result, _ = self.run_limited("convert", "m.onnx", "--tensor",
                                                     f"{layer}.running_var", "v.npy")
                        self.assertEqual(result.status, 0, result)
                        got = np.load(self.path("v.npy"))
                        self.assertEqual(got.dtype, want.dtype)
                        np.testing.assert_array_equal(got, want)

    def test_many_nodes_are_looked_up_in_linear_time(self):
        # Each BN's scale is missing (a computed value): 60000 nodes, each looked up among all
        # of them, took about 20 s; the last BN's parameters are constants and form the layer.
        count = (120000 if LARGE else 60000) // SCALE
        params = [numpy_helper.from_array(np.array([1, 2, 3], np.float32) + k, n)
                  for k, n in enumerate("sbmv")]

        def inputs(i):
            return list("sbmv") if i == count - 1 else [f"missing{i}", "b", "m", "v"]

        self.path("m.onnx").write_bytes(bn_model(count, inputs, params).SerializeToString())
        result, seconds = self.run_limited("convert", "m.onnx", "--tensor",
                                           f"bn{count - 1}.running_var", "v.npy")
        self.assertEqual(result.status, 0, result)
        np.testing.assert_array_equal(np.load(self.path("v.npy")), numpy_helper.to_array(params[3]))
        self.assertLess(seconds, 10)

    def test_folding_many_layers_takes_linear_time(self):
        # Every Conv + BN pair folds, each with its own initializers: 10000 pairs, each
        # parameter looked up by scanning the whole graph, took about 10 s.
        count = (30000 if LARGE else 10000) // SCALE
        rng = np.random.default_rng(141)
        nodes, inits, params = [], [], {}
        for i in range(count):
            nodes.append(helper.make_node("Conv", ["x", f"w{i}"], [f"c{i}"], name=f"conv{i}"))
            nodes.append(helper.make_node("BatchNormalization",
                                          [f"c{i}", f"s{i}", f"b{i}", f"m{i}", f"v{i}"], [f"y{i}"],
                                          name=f"bn{i}"))
            values = {"w": rng.normal(size=(1, 1, 1, 1)), "s": rng.random(1) + 0.5,
                      "b": rng.normal(size=1), "m": rng.normal(size=1), "v": rng.random(1) + 0.1}
            params[i] = {k: v.astype(np.float32) for k, v in values.items()}
            inits += [numpy_helper.from_array(v, f"{k}{i}") for k, v in params[i].items()]
        graph = helper.make_graph(
            nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 1, 1])],
            [helper.make_tensor_value_info(f"y{i}", TensorProto.FLOAT, None)
             for i in range(count)], inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)])
        self.path("m.onnx").write_bytes(model.SerializeToString())
        result, seconds = self.run_limited("fold", "m.onnx", "-o", "f.onnx")
        self.assertEqual(result.status, 0, result)
        self.assertIn(f"{count} of {count} batch normalizations folded", result.stdout.decode())
        self.assertLess(seconds, 10)
        folded = {t.name: numpy_helper.to_array(t)
                  for t in onnx.load(str(self.path("f.onnx"))).graph.initializer}
        eps = float(np.float32(1e-5))
        for i in (0, count // 2, count - 1):
            p = {k: v.astype(np.float64) for k, v in params[i].items()}
            scale = p["s"] / np.sqrt(p["v"] + eps)
            np.testing.assert_array_equal(folded[f"w{i}"],
                                          (p["w"] * scale[:, None, None, None]).astype(np.float32))

    def test_a_zero_dimension_lets_no_other_dimension_past_the_limit(self):
        # The dims' product leaving out the 0s is held to 2^40 wherever the 0 stands, as NumPy
        # checks its own limit; a 0 first let (0, 2^62) through into a .npy NumPy cannot load.
        limit = 1 << 40
        others = [[1 << 62], [1 << 41], [1 << 21, 1 << 20], [1 << 40], [1 << 20, 1 << 20], [3]]
        params = [numpy_helper.from_array(np.ones(3, np.float32), n) for n in "sbm"]
        for dims in others:
            for at in range(len(dims) + 1):
                for dtype, data in ((TensorProto.FLOAT, "raw_data"),
                                    (TensorProto.FLOAT16, "int32_data")):
                    shape = dims[:at] + [0] + dims[at:]
                    with self.subTest(shape=shape, dtype=dtype, data=data):
                        v = onnx.TensorProto(name="v", data_type=dtype, dims=shape)
                        if data == "raw_data":
                            v.raw_data = b""
                        model = bn_model(1, lambda i: list("sbmv"), params + [v])
                        self.path("m.onnx").write_bytes(model.SerializeToString())
                        self.path("v.npy").unlink(missing_ok=True)
                        result, _ = self.run_limited("convert", "m.onnx", "--tensor",
                                                     "bn0.running_var", "v.npy")
                        if int(np.prod(dims, dtype=object)) > limit:
                            self.assertEqual(result.status, 3, result)
                            self.assertIn("its dims declare dimensions whose product is over "
                                          f"{limit} elements", result.stderr)
                            self.assertFalse(self.path("v.npy").exists())
                        else:
                            self.assertEqual(result.status, 0, result)
                            self.assertEqual(np.load(self.path("v.npy")).shape, tuple(shape))

    def test_a_side_file_larger_than_memory_is_not_read_to_list_layers(self):
        # A model of a few hundred bytes declares one parameter of 2^30 elements in a sparse
        # side file: layers reports the layer (too many values for one), and another tensor
        # is read, without the side file's gigabytes being decoded (which ran out of memory).
        elements = 1 << 30
        small = np.array([0.5, 1.5, 2.5], np.float32)
        for role, index in (("weight", 0), ("bias", 1), ("running_mean", 2), ("running_var", 3)):
            for dtype, size in ((TensorProto.FLOAT, 4), (TensorProto.FLOAT16, 2),
                                (TensorProto.DOUBLE, 8)):
                with self.subTest(role=role, dtype=dtype):
                    with open(self.path("big.bin"), "wb") as side:
                        side.truncate(elements * size)
                    big = onnx.TensorProto(name="big", data_type=dtype, dims=[elements],
                                           data_location=TensorProto.EXTERNAL)
                    big.external_data.add(key="location", value="big.bin")
                    names = ["p", "p", "p", "p"]
                    names[index] = "big"
                    model = bn_model(1, lambda i: names,
                                     [numpy_helper.from_array(small, "p"), big])
                    self.path("m.onnx").write_bytes(model.SerializeToString())
                    result, _ = self.run_limited("layers", "m.onnx", "--format", "json")
                    self.assertEqual(result.status, 0, result)
                    layer = json.loads(result.stdout)["layers"][0]
                    self.assertIn(f"{role} has {elements} values, more than a layer has "
                                  "channels", layer["problem"])
                    other = "bias" if role == "weight" else "weight"
                    result, _ = self.run_limited("convert", "m.onnx", "--tensor",
                                                 f"bn0.{other}", "v.npy")
                    self.assertEqual(result.status, 0, result)
                    np.testing.assert_array_equal(np.load(self.path("v.npy")), small)

    def test_groups_are_walked_to_say_why_a_model_does_not_parse(self):
        # Groups (wire types 3 and 4) are unknown fields protobuf reads, nesting as messages
        # do: too deep, never ended or ended without a start, the line said "wire type 3, which
        # protobuf does not read here" or named the wrong field.  protobuf refuses each (its
        # Python parser stops at an end-group tag of the top-level message, unrefused).
        def varint(n):
            out = b""
            while n >= 0x80:
                out += bytes([n & 0x7f | 0x80])
                n >>= 7
            return out + bytes([n])

        def start(field):
            return varint(field << 3 | 3)

        def stop(field):
            return varint(field << 3 | 4)

        model = bn_model(1, lambda i: list("sbmv"),
                         [numpy_helper.from_array(np.ones(2, np.float32), n) for n in "sbmv"])
        good = model.SerializeToString()
        cases = {
            "200 deep": (good + start(100) * 200 + stop(100) * 200,
                         "messages nest more than 64 deep"),
            "never ended": (good + start(100) + start(101) + stop(101),
                            "a group of field 100 is never ended"),
            "ended unstarted": (good + stop(100), f"field 100 at byte {len(good)} ends a group "
                                "that was not started"),
            "ended by another field": (good + start(100) + stop(101),
                                       f"field 101 at byte {len(good) + 2} ends a group that "
                                       "was not started"),
        }
        for case, (content, phrase) in cases.items():
            with self.subTest(case=case):
                if case != "ended unstarted":
                    with self.assertRaises(Exception):
                        onnx.ModelProto().ParseFromString(content)
                self.path("m.onnx").write_bytes(content)
                result, _ = self.run_limited("layers", "m.onnx")
                self.assertFailsWith(result, 3, f"bnorm: error: m.onnx: not an ONNX model: {phrase}")
        # A shallow group is read as protobuf reads it: the layer is there.
        content = good + start(100) * 10 + stop(100) * 10
        onnx.ModelProto().ParseFromString(content)
        self.path("m.onnx").write_bytes(content)
        result, _ = self.run_limited("layers", "m.onnx", "--format", "json")
        self.assertEqual(result.status, 0, result)
        self.assertEqual([l["prefix"] for l in json.loads(result.stdout)["layers"]], ["bn0."])

    def test_a_model_of_empty_messages_is_refused_before_it_is_built(self):
        # Protobuf builds an object of a few hundred bytes for each empty message of 2 bytes,
        # and a string object for each empty string: 8 MiB of them would take over a GiB.
        # (Unknown fields cost no more than their bytes: the lite runtime keeps them as bytes.)
        # Each is refused by the walk before the parse, fast and in little memory, while a
        # model holding its weights in packed typed fields (8 bytes held per byte of an int64
        # of one byte) is read.
        def varint(value):
            out = bytearray()
            while True:
                low, value = value & 0x7F, value >> 7
                out.append(low | (0x80 if value else 0))
                if not value:
                    return bytes(out)

        def field(number, payload):
            return varint(number << 3 | 2) + varint(len(payload)) + payload

        model = bn_model(1, lambda i: [f"p{k}" for k in range(4)],
                         [numpy_helper.from_array(np.ones(4, np.float32), f"p{k}")
                          for k in range(4)])
        bn = model.graph.node[0].SerializeToString()
        rest = onnx.GraphProto()
        rest.CopyFrom(model.graph)
        del rest.node[:]
        count = 4 << 20
        floods = {
            "empty attributes": field(1, bn + b"\x2a\x00" * count),  # NodeProto.attribute
            "empty inputs": field(1, bn + b"\x0a\x00" * count),  # NodeProto.input, strings
            "empty initializers": b"\x2a\x00" * count,  # GraphProto.initializer
            # A graph input of type tensor(shape(dim, dim, ...)).
            "empty dims": field(11, field(1, b"x") + field(2, field(1, field(2, b"\x0a\x00" * count)))),
        }
        head = onnx.ModelProto()
        head.CopyFrom(model)
        head.ClearField("graph")
        for what, flood in floods.items():
            with self.subTest(what):
                graph = flood + rest.SerializeToString()
                if what != "empty attributes" and what != "empty inputs":
                    graph = field(1, bn) + graph
                path = self.dir / "flood.onnx"
                path.write_bytes(head.SerializeToString() + field(7, graph))
                result, seconds = self.run_limited("layers", path)
                self.assertEqual(result.status, 3, result.stderr)
                self.assertIn("would hold once parsed", result.stderr)
                self.assertLess(seconds, 10)

        # Weights in packed int64_data of one byte each: 8 bytes held per byte, read.
        channels = 1 << 20
        weights = helper.make_tensor("p0", TensorProto.INT64, [channels], [1] * channels)
        model = bn_model(1, lambda i: ["p0", "p1", "p2", "p3"],
                         [weights] + [numpy_helper.from_array(np.ones(channels, np.float32),
                                                              f"p{k}") for k in (1, 2, 3)])
        onnx.save(model, self.dir / "packed.onnx")
        result, _ = self.run_limited("layers", "packed.onnx", "--format", "json")
        self.assertEqual(result.status, 0, result.stderr)

if __name__ == "__main__":
    unittest.main()
