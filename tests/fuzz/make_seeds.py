#!/usr/bin/python3
"""Writes the fuzzers' seed corpus: valid files of every kind bnorm reads, and every malformed
case that issue #3 lists, so that fuzzing starts from the edges.  Deterministic; run with
Debian's /usr/bin/python3 (NumPy)."""
import io
import pathlib
import shutil

import numpy as np

here = pathlib.Path(__file__).resolve().parent / "corpus"


def npy(array, version=None):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, version=version)
    return buffer.getvalue()


def npy_header(text, data=b"", version=1):
    body = text.encode("latin-1")
    prefix = 10 if version == 1 else 12
    body += b" " * (64 - (prefix + len(body) + 1) % 64) + b"\n"
    size = len(body).to_bytes(2 if version == 1 else 4, "little")
    return b"\x93NUMPY" + bytes([version, 0]) + size + body + data


def write(folder, cases):
    target = here / folder
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for name, content in cases.items():
        (target / name).write_bytes(content if isinstance(content, bytes) else content.encode())


x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
good = npy(x)
npy_cases = {
    "valid-f4": good,
    "valid-f2-fortran": npy(np.asfortranarray(x.astype(np.float16))),
    "valid-f8-big-endian": npy(x.astype(">f8")),
    "valid-i2": npy(x.astype("<i2")),
    "valid-u8": npy(x.astype("<u8")),
    "valid-bool": npy(x > 5),
    "valid-v2": npy(x, (2, 0)),
    "valid-v3": npy(x, (3, 0)),
    "empty": b"",
    "bad-magic": b"\x93NUMPX" + good[6:],
    "magic-only": b"\x93NUMPY",
    "unknown-version": good[:6] + b"\x04\x00" + good[8:],
    "header-length-past-end": good[:8] + b"\xff\x00" + good[10:60],
    "header-length-zero": good[:8] + b"\x00\x00",
    "header-length-huge-v2": b"\x93NUMPY\x02\x00\xf0\xff\xff\xff{",
    "not-a-dict": npy_header("[1, 2, 3]"),
    "python-code": npy_header("__import__('os').system('true')"),
    "missing-shape": npy_header("{'descr': '<f4', 'fortran_order': False, }", b"\0" * 8),
    "extra-key": npy_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2,2), 'x': 1}"),
    "duplicate-key": npy_header("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1, 1)}"),
    "negative-dim": npy_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3), }"),
    "float-dim": npy_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2.9, 3), }"),
    "text-dim": npy_header("{'descr': '<f4', 'fortran_order': False, 'shape': (abc,), }"),
    "overflow-dim": npy_header("{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999999, 2), }"),
    "overflow-count": npy_header("{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904, 4), }"),
    "claims-16GB": npy_header("{'descr': '<f8', 'fortran_order': False, 'shape': (2000000000,), }", b"\0" * 24),
    "int-not-tuple": npy_header("{'descr': '<f4', 'fortran_order': False, 'shape': (3), }", b"\0" * 12),
    "empty-shape-value": npy_header("{'descr': '<f4', 'fortran_order': False, 'shape':}"),
    "data-short": good[:-5],
    "data-long": good + b"\0\0\0\0",
    "object": npy_header("{'descr': '|O', 'fortran_order': False, 'shape': (2, 2), }", b"\0" * 32),
    "complex": npy(x.astype(np.complex64)),
    "structured": npy_header("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2, 2), }", b"\0" * 16),
    "void": npy_header("{'descr': '|V4', 'fortran_order': False, 'shape': (2, 2), }", b"\0" * 16),
    "unknown-dtype": npy_header("{'descr': '<q9', 'fortran_order': False, 'shape': (2, 2), }", b"\0" * 16),
    "rank-0": npy(np.float32(1.5)),
    "rank-1": npy(np.arange(4, dtype=np.float32)),
    "zero-size": npy(np.zeros((0, 3), np.float32)),
    "one-value-per-channel": npy(np.ones((1, 3), np.float32)),
    "valid-bool-byte-2": npy_header("{'descr': '|b1', 'fortran_order': False, 'shape': (2, 2), }", b"\x02\x00\x01\xff"),
}
write("npy", npy_cases)

json_cases = {
    "valid": "[[1, 2.5, -3e-2], [4, 5, 6]]",
    "valid-nonfinite": "[[NaN, Infinity], [-Infinity, 0]]",
    "deep-one-value": "[" * 8 + "1" + "]" * 8,
    "empty": "",
    "not-array": '{"a": 1}',
    "number": "3.5",
    "ragged": "[[1, 2], [3, 4, 5]]",
    "ragged-short": "[[1, 2, 3], [4]]",
    "mixed-depth": "[[1, 2], 3]",
    "mixed-depth-2": "[1, [2, 3]]",
    "empty-nested": "[[[[[]]]]]",
    "non-numeric": '[[1, "2"], [true, null]]',
    "truncated": "[[1, 2], [3,",
    "deep-100000": "[" * 100000 + "]" * 100000,
    "overflow": "[[1e400, 2]]",
    "leading-zero": "[[01, 2]]",
    "trailing": "[[1, 2]] x",
    "trailing-comma": "[[1, 2,]]",
    "minus-only": "[[-, 2]]",
}
write("json_tensor", json_cases)

state_cases = {
    "valid": '{"weight": [1, 2], "bias": [0, 0], "running_mean": [0.5, -1e-3], '
             '"running_var": [1, 2], "num_batches_tracked": 3}',
    "valid-stats": '{"convention": "torch", "mode": "train", "momentum": null, "mean": [NaN, Infinity]}',
    "unknown-key": '{"runing_var": [1]}',
    "wrong-type": '{"weight": "1"}',
    "non-number": '{"weight": [1, "a"]}',
    "negative-count": '{"num_batches_tracked": -1}',
    "float-count": '{"num_batches_tracked": 1.5}',
    "duplicate": '{"weight": [1], "weight": [2]}',
    "not-object": "[1, 2]",
    "empty": "",
    "truncated": '{"weight": [1, 2',
    "valid-escapes": '{"convention": "t\\u00f6rch\\ud83d\\ude00\\n"}',
    "bad-surrogate": '{"convention": "\\ud800"}',
    "bad-utf8": b'{"convention": "\xc3\x28"}',
    "deep": '{"a":' * 100 + "1" + "}" * 100,
    "huge-number": '{"running_var": [1e999]}',
    "big-integer": '{"num_batches_tracked": 99999999999999999999}',
    "partial": '{"partial": true, "num_features": 2, "count": [3, 3], "mean": [1, NaN], '
               '"m2": [0.5, 2], "min": [0, 1], "max": [2, 3], "nonfinite": [0, 1]}',
    "partial-negative-m2": '{"partial": true, "count": [3], "mean": [1], "m2": [-1], '
                           '"min": [0], "max": [2], "nonfinite": [0]}',
}
write("state", state_cases)
