# SPDX-License-Identifier: Apache-2.0
bnorm layers ext/m.onnx --format csv | cut -d, -f1-3
