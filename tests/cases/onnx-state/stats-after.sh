# SPDX-License-Identifier: Apache-2.0
bnorm stats x.npy --after --plot p.svg --state m.onnx --state-prefix bn --mode eval --verbose --format csv
