bnorm fold samples/conv_bn.onnx --format xml
