# SPDX-License-Identifier: Apache-2.0
bnorm layers m.onnx --format json --prefix plain
