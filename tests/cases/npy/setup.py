# SPDX-License-Identifier: Apache-2.0
"""Malformed and unsupported .npy files, made by NumPy and then broken as each case says."""
import io

import numpy as np


def npy_bytes(array):
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def npy_with_header(header, data=b""):
    """A version 1.0 .npy file with `header` (the dict text) padded as NumPy pads it."""
    text = header.encode("latin-1")
    text += b" " * (64 - (10 + len(text) + 1) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text + data


def write(name, data):
    with open(name, "wb") as f:
        f.write(data)


zeros = npy_bytes(np.zeros((2, 3), np.float32))
version_9 = bytearray(zeros)
version_9[6] = 9
huge_shape = "{'descr': '<f4', 'fortran_order': False, 'shape': (2305843009213693952, 1), }"

write("empty.npy", b"")
write("zip-magic.npy", b"PK\x03\x04" + b"\0" * 60)
write("version-9.npy", bytes(version_9))
write("header-past-end.npy", zeros[:40])
write("truncated.npy", zeros[:-4])
write("trailing.npy", zeros + b"\0" * 8)
write("negative-dimension.npy", zeros.replace(b"(2, 3)", b"(2,-3)"))
write("huge-shape.npy", npy_with_header(huge_shape, b"\0" * 24))
write("too-large-to-address.npy", npy_with_header(
    "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }"))
write("header-is-code.npy", zeros.replace(b"{'descr'", b"__import__('os')#'", 1))
write("complex.npy", npy_bytes(np.zeros((2, 3), np.complex64)))
write("object.npy", npy_bytes(np.zeros((2, 3), np.float64)).replace(b"'<f8'", b"'|O' "))
write("rank-one.npy", npy_bytes(np.zeros(5, np.float32)))
write("no-channels.npy", npy_bytes(np.zeros((3, 0), np.float32)))
write("one-sample.npy", npy_bytes(np.ones((1, 3), np.float32)))
write("two-by-three.npy", npy_bytes(np.ones((2, 3), np.float32)))
