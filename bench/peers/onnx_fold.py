# SPDX-License-Identifier: Apache-2.0
"""What a Python user runs to fold every BatchNormalization into the Conv before it, with onnx
and NumPy: onnx.load, the fold in float64 rounded once to the weight's dtype (W' = W·s,
b' = (b − mean)·s + B, s = scale/√(var + ε)), the BN nodes removed and their consumers
rewired, unused initializers dropped, onnx.save.  A Conv qualifies when its weight is an
initializer and its output feeds only the BN, whose parameters are initializers.

    onnx_fold.py MODEL.onnx OUTPUT.onnx
"""
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper

source, target = sys.argv[1:3]
model = onnx.load(source)
graph = model.graph
initializers = {t.name: t for t in graph.initializer}
producer = {out: node for node in graph.node for out in node.output}
consumers = {}
for node in graph.node:
    for name in node.input:
        consumers[name] = consumers.get(name, 0) + 1
graph_outputs = {o.name for o in graph.output}

removed, renamed = set(), {}
for bn in graph.node:
    if bn.op_type != "BatchNormalization" or len(bn.output) != 1:
        continue
    conv = producer.get(bn.input[0])
    if (conv is None or conv.op_type != "Conv" or conv.input[1] not in initializers
            or consumers[bn.input[0]] != 1 or bn.input[0] in graph_outputs
            or not all(name in initializers for name in bn.input[1:5])):
        continue
    epsilon = next((a.f for a in bn.attribute if a.name == "epsilon"), 1e-5)
    scale, shift, mean, var = (numpy_helper.to_array(initializers[n]).astype(np.float64)
                               for n in bn.input[1:5])
    weight_proto = initializers[conv.input[1]]
    weight = numpy_helper.to_array(weight_proto)
    s = scale / np.sqrt(var + np.float64(np.float32(epsilon)))
    folded = weight.astype(np.float64) * s.reshape(-1, *([1] * (weight.ndim - 1)))
    weight_proto.CopyFrom(numpy_helper.from_array(folded.astype(weight.dtype), weight_proto.name))
    if len(conv.input) > 2 and conv.input[2]:
        bias_proto = initializers[conv.input[2]]
        bias = numpy_helper.to_array(bias_proto).astype(np.float64)
    else:
        bias_proto = graph.initializer.add()
        bias_proto.name = conv.name + ".bias" if conv.name else conv.output[0] + ".bias"
        initializers[bias_proto.name] = bias_proto
        bias = np.zeros(weight.shape[0])
        del conv.input[2:]
        conv.input.append(bias_proto.name)
    bias_proto.CopyFrom(numpy_helper.from_array(((bias - mean) * s + shift).astype(weight.dtype),
                                                bias_proto.name))
    # The BN's output is now the Conv's: rename the Conv's output, so that graph outputs and
    # every consumer keep their names.
    conv.output[0] = bn.output[0]
    removed.add(id(bn))

kept = [node for node in graph.node if id(node) not in removed]
del graph.node[:]
graph.node.extend(kept)
used = {name for node in graph.node for name in node.input} | graph_outputs
unused = [t for t in graph.initializer if t.name not in used]
for t in unused:
    graph.initializer.remove(t)
onnx.save(model, target)
