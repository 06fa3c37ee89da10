bnorm fold samples/conv_bn.onnx -o folded.npy
