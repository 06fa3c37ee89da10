# SPDX-License-Identifier: Apache-2.0
"""An ONNX model of PAIRS Conv + BatchNormalization pairs, each followed by a Relu, with
113 MiB of float32 convolution weights: Conv(256, 256, 3x3, pads 1), every other one without
a bias (the fold creates it), each BN's parameters initializers, its epsilon and momentum set
and its running statistics not the defaults.  Deterministic (NumPy's default_rng(1)); opset 15.

    make_big_onnx.py OUTPUT.onnx
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

PAIRS = 50
CHANNELS = 256  # 256 x 256 x 3 x 3 float32: 2.25 MiB a Conv, 112.5 MiB in all

rng = np.random.default_rng(1)
nodes, initializers = [], []


def constant(name, values):
    initializers.append(numpy_helper.from_array(np.asarray(values, np.float32), name))
    return name


previous = "x"
for i in range(PAIRS):
    conv_inputs = [previous,
                   constant(f"conv{i}.weight", rng.normal(0, 0.02, (CHANNELS, CHANNELS, 3, 3)))]
    if i % 2 == 0:
        conv_inputs.append(constant(f"conv{i}.bias", rng.normal(0, 0.1, CHANNELS)))
    nodes.append(helper.make_node("Conv", conv_inputs, [f"conv{i}"], name=f"conv{i}",
                                  kernel_shape=[3, 3], pads=[1, 1, 1, 1]))
    bn_inputs = [f"conv{i}",
                 constant(f"bn{i}.scale", rng.uniform(0.5, 1.5, CHANNELS)),
                 constant(f"bn{i}.B", rng.normal(0, 0.1, CHANNELS)),
                 constant(f"bn{i}.mean", rng.normal(0, 1, CHANNELS)),
                 constant(f"bn{i}.var", rng.uniform(0.1, 2.1, CHANNELS))]
    nodes.append(helper.make_node("BatchNormalization", bn_inputs, [f"bn{i}"], name=f"bn{i}",
                                  epsilon=1e-3 if i % 5 == 0 else 1e-5, momentum=0.9))
    nodes.append(helper.make_node("Relu", [f"bn{i}"], [f"relu{i}"], name=f"relu{i}"))
    previous = f"relu{i}"

graph = helper.make_graph(
    nodes, "big_conv_bn",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", CHANNELS, 32, 32])],
    [helper.make_tensor_value_info(previous, TensorProto.FLOAT, ["N", CHANNELS, 32, 32])],
    initializers)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)],
                          producer_name="bnorm bench")
onnx.checker.check_model(model)
onnx.save(model, sys.argv[1])
