# SPDX-License-Identifier: Apache-2.0
"""names.onnx: nodes that share a name, or have none, in each place a fold's report names one:
two Conv nodes both 'conv' (one folded into, one behind the refused BN after a Relu), two Relu
nodes both 'relu', an unnamed Gemm folded into, and two BatchNormalization nodes both 'bn' one
after the other.  Values are exact in binary (scale 1, B 0, mean 0, var 1 - eps)."""
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

f32 = np.float32
inits, nodes = [], []


def tensor(name, array):
    inits.append(numpy_helper.from_array(np.asarray(array, f32), name))
    return name


def bn(name, x, y):
    for part, value in (("s", 1), ("b", 0), ("m", 0), ("v", 0.75)):
        tensor(f"{y}_{part}", np.full(2, value))
    nodes.append(helper.make_node("BatchNormalization", [x] + [f"{y}_{p}" for p in "sbmv"], [y],
                                  name=name, epsilon=0.25))
    return y


conv = lambda x, y, w: nodes.append(helper.make_node("Conv", [x, tensor(w, np.ones((2, 2, 1, 1)))],
                                                     [y], name="conv")) or y
relu = lambda x, y: nodes.append(helper.make_node("Relu", [x], [y], name="relu")) or y
bn("first", conv("x", "conv_a", "wa"), "y_a")
bn("second", relu(conv("x", "conv_b", "wb"), "relu_b"), "y_b")
bn("third", relu("x", "relu_c"), "y_c")
nodes.append(helper.make_node("Flatten", ["x"], ["flat"], name="flatten"))
nodes.append(helper.make_node("Gemm", ["flat", tensor("wg", np.ones((2, 2)))], ["gemm_out"]))
bn("fourth", "gemm_out", "y_d")
bn("bn", bn("bn", "x", "y_e"), "y_f")
value = lambda name, shape: helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)
graph = helper.make_graph(nodes, "g", [value("x", [2, 2, 1, 1])],
                          [value(y, [2, 2, 1, 1]) for y in ("y_a", "y_b", "y_c", "y_f")] +
                          [value("y_d", [2, 2])], inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)])
onnx.checker.check_model(model)
onnx.save(model, "names.onnx")

# inputs.onnx: BatchNormalization nodes whose parameters are all graph inputs, so that none
# reads as a layer; one.onnx the same with a single node.
for file, names in (("inputs.onnx", ["bn_a", "bn_b"]), ("one.onnx", ["bn_a"])):
    parts = ["s", "b", "m", "v"]
    ins = [value("x", [2, 2])] + [value(f"{n}_{p}", [2]) for n in names for p in parts]
    bns = [helper.make_node("BatchNormalization", ["x" if i == 0 else f"{names[i - 1]}_y"] +
                            [f"{n}_{p}" for p in parts], [f"{n}_y"], name=n)
           for i, n in enumerate(names)]
    m = helper.make_model(helper.make_graph(bns, "g", ins, [value(f"{names[-1]}_y", [2, 2])]),
                          opset_imports=[helper.make_opsetid("", 15)])
    onnx.checker.check_model(m)
    onnx.save(m, file)
np.save("x.npy", np.zeros((2, 2), f32))
