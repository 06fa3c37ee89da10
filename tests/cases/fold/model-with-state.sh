bnorm fold samples/conv_bn.onnx -o folded.onnx --state state.json
