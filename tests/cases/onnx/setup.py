# SPDX-License-Identifier: Apache-2.0
"""Models with values exact in binary, built with onnx.helper: m.onnx (a Conv, then the
BatchNormalization bn1 with initializers, then an unnamed one whose parameters are Constant
nodes, then one whose mean is a graph input), ext/m.onnx (bn1's running_var in a side file),
and models whose external data leads out of their folder."""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

f32 = np.float32


def model(external=None):
    inits = [numpy_helper.from_array(np.ones((2, 3, 1, 1), f32), "W"),
             numpy_helper.from_array(np.array([1, 0.5], f32), "s"),
             numpy_helper.from_array(np.array([0, 0.25], f32), "b"),
             numpy_helper.from_array(np.array([0.5, -1.5], f32), "m"),
             numpy_helper.from_array(np.array([1, 4], f32), "v")]
    nodes = [helper.make_node("Conv", ["x", "W"], ["c"], name="conv"),
             helper.make_node("BatchNormalization", ["c", "s", "b", "m", "v"], ["y1"],
                              name="bn1", epsilon=0.0009765625, momentum=0.875)]
    for role, values in (("s2", [2.0, 4.0]), ("b2", [1.0, 1.0]), ("m2", [0.0, 8.0]), ("v2", [0.25, 0.0])):
        nodes.append(helper.make_node("Constant", [], [role], value_floats=values))
    nodes.append(helper.make_node("BatchNormalization", ["y1", "s2", "b2", "m2", "v2"], ["y2"]))
    nodes.append(helper.make_node("BatchNormalization", ["y2", "s", "b", "mean_in", "v"], ["y3"],
                                  name="from_input"))
    graph = helper.make_graph(
        nodes, "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, "H", "W"]),
         helper.make_tensor_value_info("mean_in", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("y3", TensorProto.FLOAT, ["N", 2, "H", "W"])], inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)])
    onnx.checker.check_model(m)
    if external is not None:
        v = m.graph.initializer[4]
        v.ClearField("raw_data")
        v.data_location = TensorProto.EXTERNAL
        for key, value in (("location", external), ("offset", "0"), ("length", "8")):
            entry = v.external_data.add()
            entry.key, entry.value = key, value
    return m.SerializeToString()


with open("m.onnx", "wb") as f:
    f.write(model())
os.mkdir("ext")
with open("ext/m.onnx", "wb") as f:
    f.write(model("v.bin"))
with open("ext/v.bin", "wb") as f:
    f.write(np.array([1, 4], f32).tobytes())
os.mkdir("escape")
for name, location in (("absolute", "/etc/passwd"), ("dotdot", "../ext/v.bin"),
                       ("link", "link.bin")):
    with open(f"escape/{name}.onnx", "wb") as f:
        f.write(model(location))
os.symlink(os.path.abspath("ext/v.bin"), "escape/link.bin")
