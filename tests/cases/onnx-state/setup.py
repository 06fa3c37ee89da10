# SPDX-License-Identifier: Apache-2.0
"""An ONNX model of one BatchNormalization, bn, whose epsilon 0.25 and momentum 0.75 are exact
in float32 (ONNX's meaning: 0.75 is the old value's weight, PyTorch's 0.25), and a node
without attributes, plain (the schema's 1e-5f and 0.9f); scale 1, B 0, mean 0, var 1 over 2
channels.  A batch x of 2 samples, channel 0 [1, 3] and channel 1 [0, 4]: means 2 and 2,
biased variances 1 and 4, unbiased 2 and 8, exact in binary.  t.onnx: the node bn with
training_mode = 1, a layer in train mode."""
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

initializers, nodes = [], []
for name, attributes in [("bn", {"epsilon": 0.25, "momentum": 0.75}), ("plain", {})]:
    for part, value in [("scale", 1), ("B", 0), ("mean", 0), ("var", 1)]:
        initializers.append(numpy_helper.from_array(np.full(2, value, np.float32),
                                                    f"{name}_{part}"))
    source = "x" if name == "bn" else "bn_y"
    nodes.append(helper.make_node("BatchNormalization",
                                  [source] + [f"{name}_{p}" for p in ["scale", "B", "mean", "var"]],
                                  [f"{name}_y"], name=name, **attributes))
graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 2])],
                          [helper.make_tensor_value_info("plain_y", TensorProto.FLOAT, [2, 2])],
                          initializers)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)])
onnx.checker.check_model(model)
onnx.save(model, "m.onnx")
np.save("x.npy", np.array([[1, 0], [3, 4]], np.float64))

nodes[0].attribute.append(helper.make_attribute("training_mode", 1))
training = helper.make_graph(nodes[:1], "t", graph.input,
                             [helper.make_tensor_value_info("bn_y", TensorProto.FLOAT, [2, 2])],
                             initializers[:4])
training_model = helper.make_model(training, opset_imports=[helper.make_opsetid("", 15)])
onnx.checker.check_model(training_model)
onnx.save(training_model, "t.onnx")
