bnorm stats x.npy --after --plot p.svg --state m.onnx --state-prefix bn --mode eval --verbose --format csv
