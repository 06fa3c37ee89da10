# SPDX-License-Identifier: Apache-2.0
bnorm layers names.onnx --format csv | cut -d, -f1-3
