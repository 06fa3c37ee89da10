# SPDX-License-Identifier: Apache-2.0
"""ONNX models for the tests, built with onnx.helper and NumPy from fixed seeds: every case of
folding a BatchNormalization into the layer before it that issue #14 lists, and the ones it
must refuse.

Each entry of MODELS builds (model, expected), where `expected` says what a fold must do:
{"folded": {bn: (into, op, bias_created)}, "not_folded": {bn: reason_code}}, and optionally
"external": the model is saved with its tensors in a side file.  `save` writes a model as the
tests read it.  Nothing here runs bnorm."""
import math

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 15


class Graph:
    """A graph under construction: nodes in order, initializers, inputs and outputs."""

    def __init__(self, seed, dtype=np.float32):
        self.rng = np.random.default_rng(seed)
        self.dtype = np.dtype(dtype)
        self.nodes, self.initializers, self.inputs, self.outputs = [], [], [], []
        self.value_info = []

    @property
    def elem_type(self):
        return onnx.mapping.NP_TYPE_TO_TENSOR_TYPE[self.dtype]

    def input(self, name, shape):
        self.inputs.append(helper.make_tensor_value_info(name, self.elem_type, shape))
        return name

    def output(self, name, shape=None):
        self.outputs.append(helper.make_tensor_value_info(name, self.elem_type, shape))
        return name

    def info(self, name, shape):
        self.value_info.append(helper.make_tensor_value_info(name, self.elem_type, shape))

    def tensor(self, name, array, constant_node=False):
        """`array` as an initializer named `name`, or as the output of a Constant node."""
        tensor = numpy_helper.from_array(np.asarray(array, dtype=self.dtype), name)
        if constant_node:
            self.nodes.append(helper.make_node("Constant", [], [name], name=name + "_const",
                                               value=tensor))
        else:
            self.initializers.append(tensor)
        return name

    def random(self, name, shape, scale=1.0, constant_node=False):
        return self.tensor(name, self.rng.normal(scale=scale, size=shape), constant_node)

    def node(self, op, inputs, outputs, name, **attributes):
        self.nodes.append(helper.make_node(op, inputs, outputs, name=name, **attributes))
        return outputs[0]

    def conv(self, x, name, c_in, c_out, kernel=3, group=1, bias=True, scale=0.5, **attributes):
        w = self.random(name + ".weight", (c_out, c_in // group, kernel, kernel), scale)
        inputs = [x, w] + ([self.random(name + ".bias", (c_out,), 0.5)] if bias else [])
        pads = [kernel // 2] * 4
        return self.node("Conv", inputs, [name + "_out"], name, group=group, pads=pads,
                         **attributes)

    def conv_transpose(self, x, name, c_in, c_out, kernel=3, group=1, bias=True, **attributes):
        w = self.random(name + ".weight", (c_in, c_out // group, kernel, kernel), 0.5)
        inputs = [x, w] + ([self.random(name + ".bias", (c_out,), 0.5)] if bias else [])
        return self.node("ConvTranspose", inputs, [name + "_out"], name, group=group,
                         **attributes)

    def batch_norm(self, x, name, channels, epsilon=1e-5, constant_nodes=False, **attributes):
        """A BatchNormalization with random parameters (a positive variance), epsilon as given."""
        scale = self.tensor(name + ".scale", self.rng.uniform(0.5, 2.0, channels), constant_nodes)
        bias = self.random(name + ".B", (channels,), 1.0, constant_nodes)
        mean = self.random(name + ".mean", (channels,), 1.0, constant_nodes)
        var = self.tensor(name + ".var", self.rng.uniform(0.1, 3.0, channels), constant_nodes)
        return self.node("BatchNormalization", [x, scale, bias, mean, var], [name + "_out"],
                         name, epsilon=epsilon, **attributes)

    def model(self, name, ir_version=8, opset=OPSET):
        graph = helper.make_graph(self.nodes, name, self.inputs, self.outputs,
                                  self.initializers, value_info=self.value_info)
        model = helper.make_model(graph, producer_name="bnorm-tests", producer_version="1",
                                  opset_imports=[helper.make_opsetid("", opset)])
        model.ir_version = ir_version
        # The checker wants every graph output's shape: those not given are inferred.
        inferred = {v.name: v for v in onnx.shape_inference.infer_shapes(model).graph.output}
        for output in model.graph.output:
            if not output.type.tensor_type.HasField("shape"):
                output.CopyFrom(inferred[output.name])
        model.doc_string = "built by tests/cli/onnx_models.py"
        helper.set_model_props(model, {"purpose": "fold test", "case": name})
        return model


def folded(into, op="Conv", bias_created=False):
    return (into, op, bias_created)


def conv_bn():
    g = Graph(1)
    x = g.input("x", [2, 3, 6, 6])
    y = g.batch_norm(g.conv(x, "conv1", 3, 4), "bn1", 4, epsilon=1e-3)
    g.output(y, [2, 4, 6, 6])
    return g.model("conv_bn"), {"folded": {"bn1": folded("conv1")}, "not_folded": {}}


def conv_without_bias():
    g = Graph(2)
    x = g.input("x", [2, 3, 5, 5])
    g.output(g.batch_norm(g.conv(x, "conv1", 3, 4, bias=False), "bn1", 4))
    return g.model("conv_without_bias"), {
        "folded": {"bn1": folded("conv1", bias_created=True)}, "not_folded": {}}


def conv_grouped():
    g = Graph(3)
    x = g.input("x", [2, 4, 5, 5])
    g.output(g.batch_norm(g.conv(x, "conv1", 4, 6, group=2), "bn1", 6))
    return g.model("conv_grouped"), {"folded": {"bn1": folded("conv1")}, "not_folded": {}}


def conv_depthwise():
    g = Graph(4)
    x = g.input("x", [2, 4, 5, 5])
    g.output(g.batch_norm(g.conv(x, "dw", 4, 4, group=4, bias=False), "bn1", 4))
    return g.model("conv_depthwise"), {
        "folded": {"bn1": folded("dw", bias_created=True)}, "not_folded": {}}


def conv_transpose():
    g = Graph(5)
    x = g.input("x", [2, 4, 4, 4])
    g.output(g.batch_norm(g.conv_transpose(x, "up", 4, 3), "bn1", 3))
    return g.model("conv_transpose"), {
        "folded": {"bn1": folded("up", "ConvTranspose")}, "not_folded": {}}


def conv_transpose_grouped():
    # (C, M/group, k, k) = (4, 3, 2, 2) with group 2: 6 output channels, strided.
    g = Graph(6)
    x = g.input("x", [2, 4, 3, 3])
    up = g.conv_transpose(x, "up", 4, 6, kernel=2, group=2, bias=False, strides=[2, 2])
    g.output(g.batch_norm(up, "bn1", 6))
    return g.model("conv_transpose_grouped"), {
        "folded": {"bn1": folded("up", "ConvTranspose", True)}, "not_folded": {}}


def gemm(seed, name, trans_b, c_shape, alpha=1.0, beta=1.0, expected=None):
    g = Graph(seed)
    a = g.input("a", [3, 5])
    b = g.random("fc.weight", (4, 5) if trans_b else (5, 4), 0.5)
    inputs = [a, b] + ([g.random("fc.bias", c_shape, 0.5)] if c_shape is not None else [])
    attributes = {"transB": 1} if trans_b else {}
    if alpha != 1.0:
        attributes["alpha"] = alpha
    if beta != 1.0:
        attributes["beta"] = beta
    y = g.node("Gemm", inputs, ["fc_out"], "fc", **attributes)
    g.output(g.batch_norm(y, "bn1", 4), [3, 4])
    if expected is None:
        expected = {"folded": {"bn1": folded("fc", "Gemm", c_shape is None)}, "not_folded": {}}
    return g.model(name), expected


def gemm_case(seed, mkn, trans_a, trans_b, alpha, beta, c_shape):
    """Gemm (M, K)·(K, N) + C, then a BN: A and B transposed or not, C of `c_shape` (None: no
    C).  It folds when C is one value per output channel: absent, of one element, (N) or
    (1, N)."""
    m, k, n = mkn
    g = Graph(seed)
    a = g.input("a", [k, m] if trans_a else [m, k])
    b = g.random("fc.weight", (n, k) if trans_b else (k, n), 0.5)
    inputs = [a, b] + ([g.random("fc.bias", c_shape, 0.5)] if c_shape is not None else [])
    y = g.node("Gemm", inputs, ["fc_out"], "fc", transA=trans_a, transB=trans_b, alpha=alpha,
               beta=beta)
    g.output(g.batch_norm(y, "bn1", n), [m, n])
    folds = c_shape is None or math.prod(c_shape) == 1 or c_shape in ((n,), (1, n))
    return g.model("gemm_case"), {
        "folded": {"bn1": folded("fc", "Gemm", c_shape is None)} if folds else {},
        "not_folded": {} if folds else {"bn1": "shape_mismatch"}}


MODELS = {
    "conv_bn": conv_bn,
    "conv_without_bias": conv_without_bias,
    "conv_grouped": conv_grouped,
    "conv_depthwise": conv_depthwise,
    "conv_transpose": conv_transpose,
    "conv_transpose_grouped": conv_transpose_grouped,
    "gemm": lambda: gemm(7, "gemm", False, (4,)),
    "gemm_trans_b_alpha_beta": lambda: gemm(8, "gemm_trans_b_alpha_beta", True, (1, 4), 0.5, 2.0),
    "gemm_scalar_c": lambda: gemm(9, "gemm_scalar_c", True, (), 1.0, 0.25),
    "gemm_without_c": lambda: gemm(10, "gemm_without_c", False, None, 2.0, 3.0),
    "gemm_one_by_one_c": lambda: gemm(26, "gemm_one_by_one_c", False, (1, 1), 1.0, 0.5),
    "gemm_matrix_c": lambda: gemm(11, "gemm_matrix_c", False, (3, 4), expected={
        "folded": {}, "not_folded": {"bn1": "shape_mismatch"}}),
}


def register(function):
    MODELS[function.__name__] = function
    return function


@register
def conv_output_shared():
    """The Conv's output feeds the BN and a Relu: folding would change what the Relu sees."""
    g = Graph(12)
    x = g.input("x", [2, 3, 5, 5])
    c = g.conv(x, "conv1", 3, 4)
    g.output(g.batch_norm(c, "bn1", 4))
    g.output(g.node("Relu", [c], ["relu_out"], "relu1"))
    return g.model("conv_output_shared"), {"folded": {}, "not_folded": {"bn1": "input_shared"}}


@register
def bn_after_relu():
    g = Graph(13)
    x = g.input("x", [2, 3, 5, 5])
    r = g.node("Relu", [g.conv(x, "conv1", 3, 4)], ["relu_out"], "relu1")
    g.output(g.batch_norm(r, "bn1", 4))
    return g.model("bn_after_relu"), {"folded": {}, "not_folded": {"bn1": "after_activation"}}


@register
def float16():
    g = Graph(14, np.float16)
    x = g.input("x", [2, 3, 5, 5])
    c1 = g.conv(x, "conv1", 3, 4)
    c2 = g.conv(g.node("Relu", [g.batch_norm(c1, "bn1", 4)], ["r1"], "relu1"), "conv2", 4, 2,
                bias=False)
    g.output(g.batch_norm(c2, "bn2", 2))
    return g.model("float16"), {
        "folded": {"bn1": folded("conv1"), "bn2": folded("conv2", bias_created=True)},
        "not_folded": {}}


@register
def float64():
    g = Graph(15, np.float64)
    x = g.input("x", [2, 3, 5, 5])
    g.output(g.batch_norm(g.conv(x, "conv1", 3, 4), "bn1", 4))
    return g.model("float64"), {"folded": {"bn1": folded("conv1")}, "not_folded": {}}


@register
def constant_nodes():
    """The BN's parameters and the Conv's weight as Constant nodes, one as value_floats."""
    g = Graph(16)
    x = g.input("x", [2, 3, 5, 5])
    w = g.random("conv1.weight", (4, 3, 3, 3), 0.5, constant_node=True)
    c = g.node("Conv", [x, w], ["conv1_out"], "conv1", pads=[1, 1, 1, 1])
    y = g.batch_norm(c, "bn1", 4, constant_nodes=True)
    g.nodes.append(helper.make_node("Constant", [], ["bn2.B"], name="bn2.B_const",
                                    value_floats=[0.5, -0.25, 1.0, 2.0]))
    z = g.conv(y, "conv2", 4, 4, bias=False)
    scale = g.tensor("bn2.scale", g.rng.uniform(0.5, 2, 4), True)
    mean = g.random("bn2.mean", (4,), 1.0, True)
    var = g.tensor("bn2.var", g.rng.uniform(0.5, 2, 4), True)
    g.output(g.node("BatchNormalization", [z, scale, "bn2.B", mean, var], ["bn2_out"], "bn2"))
    return g.model("constant_nodes"), {
        "folded": {"bn1": folded("conv1", bias_created=True),
                   "bn2": folded("conv2", bias_created=True)}, "not_folded": {}}


@register
def external_data():
    """Tensors in a side file: conv1's fold inlines its weight; conv2's stays outside."""
    g = Graph(17)
    x = g.input("x", [2, 3, 5, 5])
    y = g.batch_norm(g.conv(x, "conv1", 3, 4), "bn1", 4)
    r = g.node("Relu", [g.conv(y, "conv2", 4, 4)], ["relu_out"], "relu1")
    g.output(g.batch_norm(r, "bn2", 4))
    return g.model("external_data"), {
        "folded": {"bn1": folded("conv1")}, "not_folded": {"bn2": "after_activation"},
        "external": True}


@register
def conv_bn_bn():
    g = Graph(18)
    x = g.input("x", [2, 3, 5, 5])
    y = g.batch_norm(g.conv(x, "conv1", 3, 4), "bn1", 4)
    g.info(y, [2, 4, 5, 5])
    g.info("conv1_out", [2, 4, 5, 5])
    g.output(g.batch_norm(y, "bn2", 4, epsilon=1e-3))
    return g.model("conv_bn_bn"), {
        "folded": {"bn1": folded("conv1"), "bn2": folded("conv1")}, "not_folded": {}}


@register
def conv_output_is_graph_output():
    g = Graph(19)
    x = g.input("x", [2, 3, 5, 5])
    c = g.conv(x, "conv1", 3, 4)
    g.output(g.batch_norm(c, "bn1", 4))
    g.output(c)
    return g.model("conv_output_is_graph_output"), {
        "folded": {}, "not_folded": {"bn1": "input_shared"}}


@register
def subgraph_reads_conv_output():
    """An If branch reads the Conv's output without naming it as an input of the If."""
    g = Graph(20)
    x = g.input("x", [2, 3, 5, 5])
    c = g.conv(x, "conv1", 3, 4)
    g.output(g.batch_norm(c, "bn1", 4))
    cond = g.node("Constant", [], ["cond"], "cond_const",
                  value=numpy_helper.from_array(np.array(True), "cond"))
    branch = lambda name, op: helper.make_graph(
        [helper.make_node(op, [c], [name + "_y"], name=name + "_node")], name, [],
        [helper.make_tensor_value_info(name + "_y", TensorProto.FLOAT, None)])
    g.output(g.node("If", [cond], ["if_out"], "if1", then_branch=branch("then", "Relu"),
                    else_branch=branch("else", "Sigmoid")))
    return g.model("subgraph_reads_conv_output"), {
        "folded": {}, "not_folded": {"bn1": "input_shared"}}


@register
def refusals():
    """One BN of each kind that cannot be folded, beside one that can."""
    g = Graph(21)
    x = g.input("x", [2, 3, 5, 5])
    w_in = g.input("w_in", [4, 3, 3, 3])
    mean_in = g.input("mean_in", [4])
    # A BN on a graph input, and one after a MaxPool: no layer to fold into.
    g.output(g.batch_norm(x, "bn_input", 3))
    pooled = g.node("MaxPool", [g.conv(x, "conv_pool", 3, 4)], ["pool_out"], "pool",
                    kernel_shape=[1, 1])
    g.output(g.batch_norm(pooled, "bn_pool", 4))
    # The Conv's weight is a graph input.
    g.output(g.batch_norm(g.node("Conv", [x, w_in], ["cw_out"], "conv_w_in", pads=[1] * 4),
                          "bn_weight_input", 4))
    # Two Convs share one weight.
    shared = g.random("shared.weight", (4, 3, 3, 3), 0.5)
    g.output(g.batch_norm(g.node("Conv", [x, shared], ["s1_out"], "conv_s1", pads=[1] * 4),
                          "bn_shared1", 4))
    g.output(g.batch_norm(g.node("Conv", [x, shared], ["s2_out"], "conv_s2", pads=[1] * 4),
                          "bn_shared2", 4))
    # input_mean is a graph input.
    c = g.conv(x, "conv_m", 3, 4)
    scale = g.tensor("bnm.scale", np.ones(4))
    bias = g.tensor("bnm.B", np.zeros(4))
    var = g.tensor("bnm.var", np.ones(4))
    g.output(g.node("BatchNormalization", [c, scale, bias, mean_in, var], ["bnm_out"],
                    "bn_mean_input"))
    # Training mode.
    g.output(g.batch_norm(g.conv(x, "conv_t", 3, 4), "bn_training", 4, training_mode=1),
             [2, 4, 5, 5])
    # input_var + epsilon = 0 in channel 2: the scale is infinite.
    c = g.conv(x, "conv_inf", 3, 4)
    var = np.array([1.0, 1.0, -1e-5, 1.0], dtype=np.float32)
    g.output(g.node("BatchNormalization",
                    [c, g.tensor("bni.scale", np.ones(4)), g.tensor("bni.B", np.zeros(4)),
                     g.tensor("bni.mean", np.zeros(4)), g.tensor("bni.var", var)],
                    ["bni_out"], "bn_not_finite", epsilon=float(np.float32(1e-5))))
    # And one that folds.
    g.output(g.batch_norm(g.conv(x, "conv_ok", 3, 4), "bn_ok", 4))
    return g.model("refusals"), {
        "folded": {"bn_ok": folded("conv_ok")},
        "not_folded": {"bn_input": "unsupported_op", "bn_pool": "unsupported_op",
                       "bn_weight_input": "weight_not_constant", "bn_shared1": "weight_shared",
                       "bn_shared2": "weight_shared", "bn_mean_input": "parameters_not_constant",
                       "bn_training": "training_mode", "bn_not_finite": "not_finite"}}


@register
def ir_version_3():
    """Before IR version 4 every initializer is a graph input too; a created bias must be."""
    g = Graph(22)
    x = g.input("x", [2, 3, 5, 5])
    g.output(g.batch_norm(g.conv(x, "conv1", 3, 4, bias=False), "bn1", 4), [2, 4, 5, 5])
    g.output(g.batch_norm(g.conv(x, "conv2", 3, 2), "bn2", 2), [2, 2, 5, 5])
    model = g.model("ir_version_3", ir_version=3, opset=8)
    for tensor in model.graph.initializer:
        model.graph.input.append(helper.make_tensor_value_info(
            tensor.name, tensor.data_type, list(tensor.dims)))
    return model, {"folded": {"bn1": folded("conv1", bias_created=True), "bn2": folded("conv2")},
                   "not_folded": {}}


@register
def opset_6_is_test():
    """Before opset 7 a BatchNormalization runs in training mode unless is_test is nonzero, and
    is_test's default is 0: only the node with is_test = 1 is in eval mode."""
    g = Graph(25)
    x = g.input("x", [2, 3, 5, 5])
    g.output(g.batch_norm(g.conv(x, "conv1", 3, 4), "bn_test", 4, is_test=1), [2, 4, 5, 5])
    g.output(g.batch_norm(g.conv(x, "conv2", 3, 4), "bn_train", 4, is_test=0), [2, 4, 5, 5])
    g.output(g.batch_norm(g.conv(x, "conv3", 3, 4), "bn_default", 4), [2, 4, 5, 5])
    model = g.model("opset_6_is_test", ir_version=3, opset=6)
    for tensor in model.graph.initializer:
        model.graph.input.append(helper.make_tensor_value_info(
            tensor.name, tensor.data_type, list(tensor.dims)))
    return model, {"folded": {"bn_test": folded("conv1")},
                   "not_folded": {"bn_train": "training_mode", "bn_default": "training_mode"}}


@register
def unnamed_nodes():
    """Nodes without names: the report names them by their outputs."""
    g = Graph(23)
    x = g.input("x", [2, 3, 5, 5])
    y = g.batch_norm(g.conv(x, "conv1", 3, 4), "bn1", 4)
    g.output(y)
    for node in g.nodes:
        node.name = ""
    return g.model("unnamed_nodes"), {"folded": {"bn1_out": folded("conv1_out")},
                                      "not_folded": {}}


@register
def conv_bn_sample():
    """samples/conv_bn.onnx, docs/FORMATS.md's example: two Conv+BN pairs that fold, the second
    without a bias, and a BN after a Relu that cannot."""
    g = Graph(2024)
    x = g.input("image", [1, 3, 8, 8])
    y = g.node("Relu", [g.batch_norm(g.conv(x, "conv1", 3, 4), "bn1", 4)], ["relu1_out"], "relu1")
    y = g.node("Relu", [g.batch_norm(g.conv(y, "conv2", 4, 4, bias=False), "bn2", 4)],
               ["relu2_out"], "relu2")
    g.output(g.batch_norm(y, "bn3", 4))
    return g.model("conv_bn_sample"), {
        "folded": {"bn1": folded("conv1"), "bn2": folded("conv2", bias_created=True)},
        "not_folded": {"bn3": "after_activation"}}


def many_layers(count, channels=8, seed=24, spatial=4, scale=0.5):
    """`count` Conv+BN pairs with a Relu after each BN: a deep network's shape.  `scale`, the
    weights' deviation (He's √(2/fan_in) keeps activations near 1)."""
    g = Graph(seed)
    y = g.input("x", [1, channels, spatial, spatial])
    expected = {}
    for i in range(count):
        y = g.batch_norm(g.conv(y, f"conv{i}", channels, channels, scale=scale), f"bn{i}",
                         channels)
        y = g.node("Relu", [y], [f"relu{i}_out"], f"relu{i}")
        expected[f"bn{i}"] = folded(f"conv{i}")
    g.output(y)
    return g.model("many_layers"), {"folded": expected, "not_folded": {}}


def save(model, path, external=False):
    """Writes `model` to `path`; with `external`, every tensor in the side file weights.bin."""
    if external:
        onnx.save_model(model, str(path), save_as_external_data=True,
                        all_tensors_to_one_file=True, location="weights.bin", size_threshold=0)
    else:
        onnx.save_model(model, str(path))


def chains(count, channels, second_refused, seed=27):
    """`count` Conv→BN→BN chains, each Conv's weight (channels, channels, 3, 3); with
    `second_refused`, each first BN's output is a graph output too, so its second BN stays."""
    g = Graph(seed)
    y = g.input("x", [1, channels, 4, 4])
    expected = {"folded": {}, "not_folded": {}}
    for i in range(count):
        z = g.batch_norm(g.conv(y, f"conv{i}", channels, channels, scale=0.05), f"bn{i}a",
                         channels)
        y = g.batch_norm(z, f"bn{i}b", channels)
        expected["folded"][f"bn{i}a"] = folded(f"conv{i}")
        if second_refused:
            g.output(z, [1, channels, 4, 4])
            expected["not_folded"][f"bn{i}b"] = "input_shared"
        else:
            expected["folded"][f"bn{i}b"] = folded(f"conv{i}")
    g.output(y, [1, channels, 4, 4])
    return g.model("chains"), expected
