#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Writes samples/conv_bn.onnx, docs/FORMATS.md's example of folding an ONNX model, from
tests/cli/onnx_models.py's builder (onnx.helper, fixed seeds).  Deterministic: rerunning it
reproduces the committed file byte for byte, which tests/cli/test_onnx_fold.py checks.
Run with Debian's /usr/bin/python3 (python3-onnx, NumPy)."""
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "cli"))
import onnx_models  # noqa: E402


def write_sample(path=ROOT / "samples" / "conv_bn.onnx"):
    model, _ = onnx_models.conv_bn_sample()
    onnx_models.save(model, path)
    return path


if __name__ == "__main__":
    print(f"wrote {write_sample()}")
