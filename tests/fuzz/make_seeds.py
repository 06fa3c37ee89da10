#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
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
    "valid-empty-batch": npy(np.zeros((0, 3), np.float32)),  # N = 0: an empty output, as torch
    "no-channels": npy(np.zeros((3, 0), np.float32)),
    # An empty batch whose header claims 10^10 channels: 128 bytes that asked for 80 GB of
    # per-channel statistics (found by the fuzzer once empty batches became batches).
    "empty-batch-huge-channels": npy_header(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (0, 9999999999, 2), }"),
    "valid-empty-batch-most-channels": npy(np.zeros((0, 1 << 16), np.float32)),
    "empty-batch-too-many-channels": npy(np.zeros((0, (1 << 16) + 1), np.float32)),
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
    "valid-empty-nested": "[[[[[]]]]]",  # shape (1, 1, 1, 1, 0): one channel, no values
    "no-channels": "[[], []]",
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
    "nan-running-var": '{"running_mean": [0, 0], "running_var": [1, NaN]}',
    "infinite-running-mean": '{"running_mean": [-Infinity, 0], "running_var": [1, 1]}',
    "tiny-negative-running-var": '{"running_var": [1, -1e-300, -0.30000000000000004]}',
    "zero-running-var": '{"running_mean": [0], "running_var": [0]}',
    "big-integer": '{"num_batches_tracked": 99999999999999999999}',
    "partial": '{"partial": true, "num_features": 2, "count": [3, 3], "mean": [1, NaN], '
               '"m2": [0.5, 2], "min": [0, 1], "max": [2, 3], "nonfinite": [0, 1]}',
    "partial-negative-m2": '{"partial": true, "count": [3], "mean": [1], "m2": [-1], '
                           '"min": [0], "max": [2], "nonfinite": [0]}',
    "partial-nonfinite-finite-m2": '{"partial": true, "num_features": 1, "count": [4], '
                                   '"mean": [Infinity], "m2": [0], "min": [0], "max": [1], '
                                   '"nonfinite": [1]}',
    "partial-infinite-mean-all-finite": '{"partial": true, "count": [2], "mean": [-Infinity], '
                                        '"m2": [Infinity], "min": [-1.7e308], "max": [1], '
                                        '"nonfinite": [0]}',
}
write("state", state_cases)


# .npz: ZIP archives of .npy members.  NumPy writes the valid ones; the malformed ones come from
# a small ZIP writer of our own (the same layout as Python's zipfile with force_zip64, as
# np.savez writes), which says where every field lies so that one field can be falsified.
def npz_of(save, **arrays):
    buffer = io.BytesIO()
    save(buffer, **arrays)
    return buffer.getvalue()


def zip_archive(members, comment=b"", patch_local=None, patch_central=None, patch_end=None):
    """members: (name, content, method) with method 0 (stored) or 8 (deflated).  The patch_*
    functions receive (index, header bytearray) and may change fields before writing."""
    import struct
    import zlib
    body = b""
    central = b""
    for i, (name, content, method) in enumerate(members):
        name = name.encode()
        data = content
        if method == 8:
            deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
            data = deflater.compress(content) + deflater.flush()
        crc = zlib.crc32(content)
        local = bytearray(struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, method, 0, 0x21, crc,
                                      0xFFFFFFFF, 0xFFFFFFFF, len(name), 20))
        local += name + struct.pack("<HHQQ", 1, 16, len(content), len(data))
        if patch_local:
            patch_local(i, local)
        entry = bytearray(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 0x32D, 45, 0, method, 0,
                                      0x21, crc, len(data), len(content), len(name), 0, 0, 0, 0,
                                      0o600 << 16, len(body)))
        entry += name
        if patch_central:
            patch_central(i, entry)
        central += entry
        body += bytes(local) + data
    end = bytearray(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members),
                                len(central), len(body), len(comment)))
    if patch_end:
        patch_end(end)
    return body + central + bytes(end) + comment


def put(buffer, offset, fmt, value):
    import struct
    struct.pack_into(fmt, buffer, offset, value)


small = np.arange(6, dtype=np.float32).reshape(2, 3)
member = npy(small)
b_member = npy(np.ones((3, 2)))
npz_cases = {
    "valid-savez": npz_of(np.savez, x=x),
    "valid-savez-compressed": npz_of(np.savez_compressed, x=x.astype(np.float64)),
    "valid-multi-savez": npz_of(np.savez, x=x, b=np.ones(3), c=np.zeros((2, 2), np.int16)),
    "valid-multi-compressed": npz_of(np.savez_compressed, x=x, b=np.ones(3)),
    "valid-fortran-f2": npz_of(np.savez, x=np.asfortranarray(x.astype(np.float16))),
    "valid-own-writer-comment": zip_archive([("x.npy", member, 8)], comment=b"a comment"),
    "empty": b"",
    "not-a-zip": b"PK\x03\x04" + b"\0" * 40,
    "npy-not-zip": good,
    "truncated-half": npz_of(np.savez, x=x)[:300],
    "truncated-last-byte": npz_of(np.savez, x=x)[:-1],
    "comment-length-wrong": zip_archive([("x.npy", member, 0)], comment=b"abc",
                                        patch_end=lambda e: put(e, 20, "<H", 5)),
    "cd-offset-off-by-one": zip_archive([("x.npy", member, 0)],
                                        patch_end=lambda e: put(e, 16, "<I", 1)),
    "cd-size-huge": zip_archive([("x.npy", member, 0)],
                                patch_end=lambda e: put(e, 12, "<I", 0x7FFFFFF0)),
    "entries-too-many": zip_archive([("x.npy", member, 0)],
                                    patch_end=lambda e: (put(e, 8, "<H", 9), put(e, 10, "<H", 9))),
    "multi-disk": zip_archive([("x.npy", member, 0)], patch_end=lambda e: put(e, 4, "<H", 1)),
    "zip64-end-missing": zip_archive([("x.npy", member, 0)],
                                     patch_end=lambda e: put(e, 16, "<I", 0xFFFFFFFF)),
    "local-offset-past-end": zip_archive([("x.npy", member, 0)],
                                         patch_central=lambda i, c: put(c, 42, "<I", 0x10000000)),
    "crc-mismatch-stored": zip_archive([("x.npy", member, 0)],
                                       patch_local=lambda i, h: put(h, 14, "<I", 1234),
                                       patch_central=lambda i, c: put(c, 16, "<I", 1234)),
    "crc-mismatch-deflated": zip_archive([("x.npy", member, 8)],
                                         patch_local=lambda i, h: put(h, 14, "<I", 1234),
                                         patch_central=lambda i, c: put(c, 16, "<I", 1234)),
    "crc-differs-local": zip_archive([("x.npy", member, 0)],
                                     patch_local=lambda i, h: put(h, 14, "<I", 1234)),
    "name-differs-local": zip_archive([("x.npy", member, 0)],
                                      patch_local=lambda i, h: put(h, 30, "<B", ord("y"))),
    "method-differs-local": zip_archive([("x.npy", member, 0)],
                                        patch_local=lambda i, h: put(h, 8, "<H", 8)),
    "size-differs-local": zip_archive([("x.npy", member, 0)],
                                      patch_local=lambda i, h: put(h, 30 + 5 + 4, "<Q", 7)),
    "zip64-extra-short": zip_archive([("x.npy", member, 0)],
                                     patch_local=lambda i, h: put(h, 30 + 5 + 2, "<H", 8)),
    "zip-bomb-declared-huge": zip_archive(
        [("x.npy", member, 8)],
        patch_local=lambda i, h: put(h, 30 + 5 + 4, "<Q", 1 << 40),
        patch_central=lambda i, c: (put(c, 24, "<I", 0xFFFFFFFF), c.__setitem__(
            slice(28, 32), (5).to_bytes(2, "little") + (12).to_bytes(2, "little")),
                                    c.extend(b"\x01\x00\x08\x00" + (1 << 40).to_bytes(8, "little")))),
    "zip-bomb-declared-small": zip_archive(
        [("x.npy", npy(np.zeros(4 << 20, np.uint8)), 8)],
        patch_local=lambda i, h: put(h, 30 + 5 + 4, "<Q", 1000),
        patch_central=lambda i, c: put(c, 24, "<I", 1000)),
    "encrypted": zip_archive([("x.npy", member, 0)], patch_local=lambda i, h: put(h, 6, "<H", 1),
                             patch_central=lambda i, c: put(c, 8, "<H", 1)),
    "data-descriptor": zip_archive([("x.npy", member, 0)],
                                   patch_local=lambda i, h: put(h, 6, "<H", 8),
                                   patch_central=lambda i, c: put(c, 8, "<H", 8)),
    "method-bzip2": zip_archive([("x.npy", member, 0)], patch_local=lambda i, h: put(h, 8, "<H", 12),
                                patch_central=lambda i, c: put(c, 10, "<H", 12)),
    "duplicate-names": zip_archive([("x.npy", member, 0), ("x.npy", member, 0)]),
    "not-npy-member": zip_archive([("x.txt", b"hello", 0)]),
    "inner-npy-shorter": zip_archive([("x.npy", member[:-4], 0)]),
    "inner-npy-longer": zip_archive([("x.npy", member + b"\0" * 4, 8)]),
    "inner-npy-bad-header": zip_archive([("x.npy", npy_header("{'descr': '<f4', 'shape': (2, -3), }"), 0)]),
    "inner-npy-huge-shape": zip_archive(
        [("x.npy", npy_header("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000, 1000), }"), 0)]),
    "deflate-garbage": zip_archive([("x.npy", member, 0)], patch_local=lambda i, h: put(h, 8, "<H", 8),
                                   patch_central=lambda i, c: put(c, 10, "<H", 8)),
}


# Overlapping members: b's local header (and data) lie inside a's stored data, with every
# header consistent, so that only the overlap check can refuse the archive.
def overlapping():
    import struct
    import zlib
    inner = zip_archive([("b.npy", b_member, 0)])
    inner_local = inner[:inner.index(b"PK\x01\x02")]
    a_content = b"\0" * 0 + inner_local  # a's "data" is b's whole local record
    outer = zip_archive([("a.npy", a_content, 0)])
    cut = outer.index(b"PK\x01\x02")
    body, central_a = outer[:cut], outer[cut:outer.index(b"PK\x05\x06")]
    b_offset = body.index(b"PK\x03\x04", 4)
    central_b = bytearray(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 0x32D, 45, 0, 0, 0, 0x21,
                                      zlib.crc32(b_member), len(b_member), len(b_member), 5, 0, 0,
                                      0, 0, 0o600 << 16, b_offset)) + b"b.npy"
    central = central_a + bytes(central_b)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 2, 2, len(central), len(body), 0)
    return body + central + end


npz_cases["overlapping-members"] = overlapping()


# Archives with two readings (issue #11): one reader (Python's zipfile, Go's archive/zip, a
# reader walking local headers, an extractor) reads them one way, another another way.
def end_of(data):
    import struct
    at = data.rindex(b"PK\x05\x06")
    return at, list(struct.unpack("<4s4H2LH", data[at:at + 22]))


def end_bytes(entries, directory_size, directory_offset, comment_size=0):
    import struct
    return struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, entries, entries, directory_size,
                       directory_offset, comment_size)


def parts(data):
    """(members, central directory) of a comment-less archive without ZIP64 end records."""
    at, fields = end_of(data)
    return data[:fields[6]], data[fields[6]:at]


def two_directories(comment_size_delta):
    """x.npy twice; the first directory names the first, its end record's comment holds a
    second directory naming the second and an end record whose comment length is off by
    delta (0: both end records reach the end of the file)."""
    body_a, directory_a = parts(zip_archive([("x.npy", member, 0)]))
    body_b, directory_b = parts(zip_archive([("x.npy", b_member, 0)],
                                            patch_central=lambda i, c: put(c, 42, "<I", len(body_a))))
    body = body_a + body_b
    comment = directory_b + end_bytes(1, len(directory_b), len(body) + len(directory_a) + 22,
                                      comment_size_delta)
    return body + directory_a + end_bytes(1, len(directory_a), len(body), len(comment)) + comment


def zip64_end(directory_size, directory_offset, record_at, extensible=b"", entries=1):
    import struct
    return (struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44 + len(extensible), 45, 45, 0, 0, entries,
                        entries, directory_size, directory_offset) + extensible +
            struct.pack("<4sLQL", b"PK\x06\x07", 0, record_at, 1))


def with_zip64(data, extensible=b"", entries32=0xFFFF, offset32=None):
    """The archive with a ZIP64 end record and locator before its end record."""
    at, fields = end_of(data)
    record = zip64_end(fields[5], fields[6], at, extensible)
    end = end_bytes(entries32, fields[5], fields[6] if offset32 is None else offset32)
    return data[:at] + record + end


def named(name, flags=0, method=0):
    """One member named `name` (bytes), with `flags` in both headers."""
    data = zip_archive([("n" * len(name), member, method)],
                       patch_local=lambda i, h: put(h, 6, "<H", flags),
                       patch_central=lambda i, c: put(c, 8, "<H", flags))
    return data.replace(b"n" * len(name), name)


def unicode_path(name, other):
    import struct
    import zlib
    extra = struct.pack("<HHBL", 0x7075, 5 + len(other), 1, zlib.crc32(name)) + other
    return zip_archive([(name.decode(), member, 0)],
                       patch_central=lambda i, c: (put(c, 30, "<H", len(extra)), c.extend(extra)))


def hidden_before_first():
    body_b, _ = parts(zip_archive([("x.npy", b_member, 0)]))
    body_a, directory_a = parts(zip_archive(
        [("x.npy", member, 0)], patch_central=lambda i, c: put(c, 42, "<I", len(body_b))))
    return body_b + body_a + directory_a + end_bytes(1, len(directory_a), len(body_b) + len(body_a))


def hidden_after_last(hidden):
    body, directory = parts(zip_archive([("x.npy", member, 0)]))
    return body + hidden + directory + end_bytes(1, len(directory), len(body) + len(hidden))


def gap_between_members():
    body_x, directory_x = parts(zip_archive([("x.npy", member, 0)]))
    hidden, _ = parts(zip_archive([("h.npy", member, 0)]))
    body_y, directory_y = parts(zip_archive(
        [("y.npy", b_member, 0)],
        patch_central=lambda i, c: put(c, 42, "<I", len(body_x) + len(hidden))))
    body = body_x + hidden + body_y
    directory = directory_x + directory_y
    return body + directory + end_bytes(2, len(directory), len(body))


def zip64_disagreeing():
    body_a, directory_a = parts(zip_archive([("x.npy", member, 0)]))
    body_b, directory_b = parts(zip_archive([("x.npy", b_member, 0)],
                                            patch_central=lambda i, c: put(c, 42, "<I", len(body_a))))
    body = body_a + body_b
    record_at = len(body) + len(directory_a) + len(directory_b)
    return (body + directory_a + directory_b +
            zip64_end(len(directory_b), len(body) + len(directory_a), record_at) +
            end_bytes(1, len(directory_a), len(body)))


npz_cases.update({
    "two-end-records": two_directories(0),
    "end-signature-in-comment": two_directories(1),
    "end-signature-cut-in-comment": zip_archive([("x.npy", member, 0)], comment=b"PK\x05\x06"),
    "valid-zip64-end-records": with_zip64(zip_archive([("x.npy", member, 0)])),
    "zip64-extensible-data": with_zip64(zip_archive([("x.npy", member, 0)]), extensible=b"x" * 8),
    "zip64-disagrees-with-end-record": zip64_disagreeing(),
    "prefix-before-first-member": hidden_before_first(),
    "self-extractor-stub": b"MZ stub " + zip_archive([("x.npy", member, 0)]),
    "gap-before-directory": hidden_after_last(parts(zip_archive([("y.npy", b_member, 0)]))[0]),
    "gap-between-members": gap_between_members(),
    "name-dotdot": named(b"../x.npy"),
    "name-absolute": named(b"/x.npy"),
    "name-drive-letter": named(b"C:x.npy"),
    "name-backslash": named(b"a\\x.npy"),
    "name-nul": named(b"x.npy\0.npy"),
    "name-not-utf8": named(b"x\xff.npy", 0x800),
    "name-overlong-utf8": named(b"x\xc0\xae.npy", 0x800),
    "name-utf8-without-flag": named("ü.npy".encode()),
    "name-empty-segment": named(b"a//x.npy"),
    "name-dot-segment": named(b"./x.npy"),
    "valid-name-utf8": named("dir/ü.npy".encode(), 0x800),
    "unicode-path-other-name": unicode_path(b"x.npy", b"y.npy"),
    "valid-unicode-path-same-name": unicode_path(b"x.npy", b"x.npy"),
    "zip64-extra-surplus": zip_archive(
        [("x.npy", member, 0)],
        patch_central=lambda i, c: (put(c, 30, "<H", 20),
                                    c.extend(b"\x01\x00\x10\x00" + bytes(16)))),
    "flag-compressed-patched": zip_archive([("x.npy", member, 0)],
                                           patch_local=lambda i, h: put(h, 6, "<H", 0x20),
                                           patch_central=lambda i, c: put(c, 8, "<H", 0x20)),
    "version-needed-6.4": zip_archive([("x.npy", member, 0)],
                                      patch_central=lambda i, c: put(c, 6, "<H", 64)),
    "symbolic-link": zip_archive([("x.npy", member, 0)],
                                 patch_central=lambda i, c: put(c, 38, "<I", 0o120777 << 16)),
    # unzip makes a link of these too: the made-by host is OpenVMS (2), and MS-DOS (0) with a
    # mode that agrees with the DOS attributes.
    "symbolic-link-host-2": zip_archive(
        [("x.npy", member, 0)],
        patch_central=lambda i, c: (put(c, 4, "<H", 2 << 8 | 45), put(c, 38, "<I", 0o120777 << 16))),
    "symbolic-link-host-0": zip_archive(
        [("x.npy", member, 0)],
        patch_central=lambda i, c: (put(c, 4, "<H", 45), put(c, 38, "<I", 0o120644 << 16))),
    # np.savez writes tensors "a" and "a.npy" as members a.npy and a.npy.npy: np.load's key
    # "a.npy" is member a.npy, whose tensor is "a".
    "member-named-as-tensor": npz_of(np.savez, **{"a": small, "a.npy": np.ones((3, 2))}),
})
write("npz", npz_cases)


# .safetensors: 8-byte header length, JSON header, data.
def safetensors(header, data, pad=True):
    import json
    import struct
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    if pad:
        text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + data


def entry(dtype, shape, begin, end):
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


x_bytes = x.tobytes()
bf16 = (x.view(np.uint32) >> 16).astype(np.uint16).tobytes()  # exact: x holds small integers
state_data = np.array([1, 2], np.float32).tobytes()
safetensors_cases = {
    "valid-f32": safetensors({"x": entry("F32", [2, 3, 4], 0, 96)}, x_bytes),
    "valid-bf16": safetensors({"x": entry("BF16", [2, 3, 4], 0, 48)}, bf16),
    "valid-f16-metadata": safetensors(
        {"__metadata__": {"format": "pt"}, "x": entry("F16", [2, 3, 4], 0, 48)},
        x.astype(np.float16).tobytes()),
    "valid-multi-state-dict": safetensors(
        {"x": entry("F32", [2, 3, 4], 0, 96),
         "layer1.0.bn1.running_mean": entry("F32", [2], 96, 104),
         "layer1.0.bn1.num_batches_tracked": entry("I64", [], 104, 112)},
        x_bytes + state_data + (3).to_bytes(8, "little")),
    "valid-unpadded": safetensors({"x": entry("I32", [2, 3, 4], 0, 96)},
                                  x.astype(np.int32).tobytes(), pad=False),
    "empty": b"",
    "short": b"\x08\0\0",
    "header-length-past-end": (1000).to_bytes(8, "little") + b'{"x": 1}',
    "header-length-huge": (1 << 62).to_bytes(8, "little") + b"{}",
    "header-length-over-limit": (100_000_001).to_bytes(8, "little") + b"{}" * 8,
    "header-not-json": safetensors(b"{not json", b""),
    "header-not-object": safetensors(b"[1, 2]", b""),
    "header-empty": safetensors(b"", b"", pad=False),
    "header-invalid-utf8": safetensors(b'{"x\xc3\x28": {}}', b""),
    "duplicate-key": safetensors(
        b'{"x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, '
        b'"x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}', b"\0" * 4),
    "unknown-dtype": safetensors({"x": entry("Q8", [1], 0, 1)}, b"\0"),
    "unsupported-dtype": safetensors({"x": entry("F8_E4M3", [4], 0, 4)}, b"\0" * 4),
    "dtype-not-string": safetensors({"x": entry(4, [1], 0, 4)}, b"\0" * 4),
    "negative-dim": safetensors({"x": entry("F32", [2, -3], 0, 24)}, b"\0" * 24),
    "float-dim": safetensors({"x": entry("F32", [2.5, 3], 0, 24)}, b"\0" * 24),
    "overflowing-shape": safetensors({"x": entry("F64", [1 << 31, 1 << 31, 8], 0, 0)}, b""),
    "huge-dim": safetensors({"x": entry("F32", [99999999999999999999], 0, 4)}, b"\0" * 4),
    "offsets-not-shape": safetensors({"x": entry("F32", [2, 3, 4], 0, 92)}, x_bytes[:92]),
    "offsets-reversed": safetensors({"x": entry("F32", [0], 8, 0)}, b"\0" * 8),
    "offsets-past-data": safetensors({"x": entry("F32", [2, 3, 4], 0, 96)}, x_bytes[:50]),
    "offsets-one-value": safetensors({"x": {"dtype": "F32", "shape": [1], "data_offsets": [0]}},
                                     b"\0" * 4),
    "overlap": safetensors({"x": entry("F32", [2, 3, 4], 0, 96), "y": entry("F32", [2], 88, 96)},
                           x_bytes),
    "hole": safetensors({"x": entry("F32", [2, 3, 4], 8, 104)}, b"\0" * 8 + x_bytes),
    "trailing-data": safetensors({"x": entry("F32", [2, 3, 4], 0, 96)}, x_bytes + b"\0" * 8),
    "missing-shape": safetensors({"x": {"dtype": "F32", "data_offsets": [0, 4]}}, b"\0" * 4),
    "extra-key": safetensors({"x": dict(entry("F32", [1], 0, 4), strides=[1])}, b"\0" * 4),
    "tensor-not-object": safetensors({"x": [1, 2]}, b""),
    "metadata-not-strings": safetensors({"__metadata__": {"a": 1}, "x": entry("F32", [1], 0, 4)},
                                        b"\0" * 4),
    "deep": safetensors(b'{"x":' * 100 + b"1" + b"}" * 100, b""),
    "no-tensors": safetensors({}, b""),
}
write("safetensors", safetensors_cases)

# Files under a name that tells no format: the registry tells it by the first bytes, from a
# regular file and from a pipe.  One valid file of each format, and the heads no format
# begins or that stop short of what a recognizer needs.
sniffed_cases = {
    "npy": good,
    "npz-stored": npz_of(np.savez, x=small),
    "npz-deflated": npz_of(np.savez_compressed, x=small, y=small.T),
    "npz-empty": npz_of(np.savez),
    "safetensors": safetensors({"x": entry("F32", [2, 3, 4], 0, 96)}, x_bytes),
    "json-after-space": b"\n\t  " + str(small.tolist()).encode(),
    "json-document": b'{"running_mean": [0, 1]}',
    "empty": b"",
    "text": b"hello, world",
    "space-short": b" " * 10,
    "space-past-head": b" " * 80 + b"[1, 2]",
    "npy-magic-cut": b"\x93NUMP",
    "zip-central-first": b"PK\x01\x02" + b"\0" * 40,
    "safetensors-length-high-byte": b"\x10\x00\x00\x00\x00\x00\x00\x01{}",
    "safetensors-length-only": b"\x02\x00\x00\x00\x00\x00\x00\x00",
}
write("sniffed", sniffed_cases)


# --- torch.save's checkpoints and their pickles (issue #13); torch is Debian's python3-torch.
import os  # noqa: E402
import pickle  # noqa: E402
import struct  # noqa: E402
import subprocess  # noqa: E402
import zipfile  # noqa: E402

import torch  # noqa: E402


def torch_bytes(obj, **options):
    buffer = io.BytesIO()
    torch.save(obj, buffer, **options)
    return buffer.getvalue()


def records_of(data):
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {name: z.read(name) for name in z.namelist()}


def zip_of(records):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as z:
        for name, content in records.items():
            z.writestr(name, content)
    return buffer.getvalue()


class Call:
    """Pickles as function(*args), as a malicious checkpoint does."""

    def __init__(self, function, *args):
        self.function, self.args = function, args

    def __reduce__(self):
        return self.function, self.args


torch.manual_seed(13)
bn = torch.nn.BatchNorm2d(3)
bn.running_mean.normal_()
state = bn.state_dict()
base = torch.arange(24, dtype=torch.float32).reshape(2, 3, 4)
view_dict = {"t": base.transpose(0, 2), "s": base[:, ::2, 1:], "e": torch.ones(3, 1).expand(3, 4),
             "o": base.reshape(-1)[5:9], "h": base.half(), "b": base.bfloat16(),
             "i": base.to(torch.int8), "q": torch.tensor(2**62), "z": base > 7}
checkpoint = {"epoch": 3, "lr": 0.1, "state_dict": state, "note": "x", "ids": [1, 2, (3, 4)],
              "none": None, "blob": b"\x00\x01"}
valid_pt = {
    "valid-bn": torch_bytes(state),
    "valid-views": torch_bytes(view_dict),
    "valid-checkpoint": torch_bytes(checkpoint),
    "valid-model": torch_bytes({"model": state, "optimizer": {"state": {}}}),
    "valid-one-tensor": torch_bytes(base),
    "valid-parameter": torch_bytes({"w": torch.nn.Parameter(torch.randn(3))}),
}
for protocol in (3, 4, 5):
    valid_pt[f"valid-protocol-{protocol}"] = torch_bytes(view_dict, pickle_protocol=protocol)

pkl_of = lambda data: next(v for k, v in records_of(data).items() if k.endswith("/data.pkl"))
storage = (b"ctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storage"
           b"ctorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x03tQ")
hooks = b"ccollections\nOrderedDict\n)R"
hostile_pickles = {
    "os-system": pickle.dumps(Call(os.system, "touch /tmp/pwned"), protocol=2),
    "builtins-eval": pickle.dumps(Call(eval, "1"), protocol=3),
    "subprocess-popen": pickle.dumps({"w": Call(subprocess.Popen, ["true"])}, protocol=4),
    "module": pkl_of(torch_bytes(torch.nn.BatchNorm1d(2))),
    "memo-out-of-range": b"\x80\x02h\x07.",
    "long-binget-out-of-range": b"\x80\x02j\xff\xff\xff\xff.",
    "stack-underflow": b"\x80\x020.",
    "deep-marks": b"\x80\x02" + b"(" * 5000 + b".",
    "deep-lists": b"\x80\x02" + b"]" * 4200 + b"a" * 4199 + b".",
    "reduce-wrong-count": b"\x80\x02" + storage + b"K\x00(K\x03t(K\x01t\x89tR.",
    "reduce-wrong-offset": b"\x80\x02" + storage + b"X\x01\x00\x00\x00a(K\x03t(K\x01t\x89" + hooks + b"tR.",
    "reduce-ordered-dict-int": b"\x80\x02ccollections\nOrderedDict\nK\x01\x85R.",
    "build-into-list": b"\x80\x02](K\x01tb.",
    "setitem-into-list": b"\x80\x02]X\x01\x00\x00\x00kK\x01s.",
    "setitems-into-tuple": b"\x80\x02)(K\x01K\x02u.",
    "self-append": b"\x80\x02]q\x00h\x00a.",
    "append-after-placed": b"\x80\x02]q\x00]h\x00aa.",
    "trailing-bytes": b"\x80\x02N.x",
    "no-stop": b"\x80\x02N",
    "two-results": b"\x80\x02NN.",
    "protocol-1": b"\x80\x01N.",
    "protocol-0": b"N.",
    "newobj": b"\x80\x02ccollections\nOrderedDict\n)\x81.",
    "str-past-end": b"\x80\x02X\xff\xff\xff\x7f.",
    "bytes8-past-end": b"\x80\x02\x8e" + b"\xff" * 8 + b".",
    "long4-huge": b"\x80\x02\x8b\x00\x00\x01\x00.",
    "bad-utf8": b"\x80\x02X\x01\x00\x00\x00\xff.",
    "rank-33": b"\x80\x02" + storage + b"K\x00(" + b"K\x01" * 33 + b"t(" + b"K\x01" * 33 + b"t\x89" + hooks + b"tR.",
    "storage-type-reduce": b"\x80\x02ctorch\nFloatStorage\n)R.",
    "persid-not-storage": b"\x80\x02(X\x07\x00\x00\x00storageK\x01tQ.",
    "legacy-magic": b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.",
    "dict-key-list": b"\x80\x02}]]s.",
    "tuple-key-nested-64": b"\x80\x02}" + (b")" + b"\x85" * 64 + b"K\x01s") * 2 + b".",
    "argument-tuples-nested": b"\x80\x02ccollections\nOrderedDict\n" + b"\x85" * 5000 + b".",
    "encode-reused": (b"\x80\x02c_codecs\nencode\n\x940X\x00\x10\x00\x00" + b"a" * 4096
                      + b"X\x06\x00\x00\x00latin1\x86\x940]" + b"h\x00h\x01Ra" * 10 + b"."),
    "str-key-reused": b"\x80\x02}X\x00\x00\x01\x00" + b"k" * 65536 + b"\x940" + b"h\x00K\x01s" * 4096 + b".",
}
pickle_cases = {name: pkl_of(data) for name, data in valid_pt.items()}
pickle_cases.update(hostile_pickles)
write("pickle", pickle_cases)


def with_pickle(data, pkl):
    records = records_of(data)
    name = next(k for k in records if k.endswith("/data.pkl"))
    records[name] = pkl
    return zip_of(records)


def mutated(data, mutate):
    return zip_of(mutate(records_of(data)))


small_pt = torch_bytes({"t": torch.randn(4)})
torch_cases = dict(valid_pt)
torch_cases.update({f"pickle-{name}": with_pickle(small_pt, pkl) for name, pkl in hostile_pickles.items()})
offset_pkl = pkl_of(small_pt)
at = offset_pkl.index(b"QK\x00") + 1
torch_cases.update({
    "legacy": torch_bytes(state, _use_new_zipfile_serialization=False),
    "module": torch_bytes(torch.nn.BatchNorm1d(2)),
    "two-folders": mutated(small_pt, lambda r: {**r, "other/data.pkl": r["archive/data.pkl"]}),
    "no-data-pkl": mutated(small_pt, lambda r: {k: v for k, v in r.items() if not k.endswith("data.pkl")}),
    "no-folder": zip_of({"data.pkl": pkl_of(small_pt)}),
    "constants-pkl": mutated(small_pt, lambda r: {**r, "archive/constants.pkl": b"\x80\x02N."}),
    "version-9": mutated(small_pt, lambda r: {**r, "archive/version": b"9\n"}),
    "byteorder-big": mutated(small_pt, lambda r: {**r, "archive/byteorder": b"big"}),
    "byteorder-bad": mutated(small_pt, lambda r: {**r, "archive/byteorder": b"middle"}),
    "record-short": mutated(small_pt, lambda r: {**r, "archive/data/0": r["archive/data/0"][:12]}),
    "record-long": mutated(small_pt, lambda r: {**r, "archive/data/0": r["archive/data/0"] + b"\0" * 4}),
    "record-missing": mutated(small_pt, lambda r: {k: v for k, v in r.items() if "/data/" not in k}),
    "offset-past-record": with_pickle(small_pt, offset_pkl[:at] + b"K\x03" + offset_pkl[at + 2:]),
    "unknown-record": mutated(small_pt, lambda r: {**r, "archive/extra": b""}),
})
broken = bytearray(small_pt)
first = broken.index(b"PK\x07\x08")
broken[first + 4] ^= 0xFF
torch_cases["descriptor-crc-wrong"] = bytes(broken)
broken = bytearray(small_pt)
broken[first:first + 4] = b"PK\x07\x09"
torch_cases["descriptor-signature-wrong"] = bytes(broken)
torch_cases["descriptor-cut"] = small_pt[:first + 8]
deflated = io.BytesIO()
with zipfile.ZipFile(deflated, "w") as z:
    for name, content in records_of(small_pt).items():
        z.writestr(name, content, compress_type=zipfile.ZIP_DEFLATED if name.endswith(".pkl") else 0)
torch_cases["data-pkl-deflated"] = deflated.getvalue()
torch_cases["name-lone-surrogate"] = torch_bytes({"\ud800t": torch.randn(4)})
write("torch", torch_cases)

# --- ONNX models (fuzz_onnx): valid Conv+BN graphs, then the malformed cases of issue #14 ---
import onnx  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402


def conv_bn_model(kind="initializer", dtype=np.float32, raw=True, name="bn"):
    """x -> Conv(W) -> BatchNormalization -> y, its parameters as initializers or Constants."""
    rng = np.random.default_rng(14)
    c = 3
    params = {"scale": rng.random(c) + 0.5, "B": rng.normal(size=c), "mean": rng.normal(size=c),
              "var": rng.random(c) + 0.1}
    elem = (TensorProto.BFLOAT16 if dtype == "bfloat16"
            else onnx.mapping.NP_TYPE_TO_TENSOR_TYPE[np.dtype(dtype)])

    def tensor(key, values):
        if dtype == "bfloat16" or not raw:  # typed fields (int32_data holds 16-bit floats' bits)
            return helper.make_tensor(key, elem, values.shape, values.tolist())
        return numpy_helper.from_array(values.astype(dtype), key)
    w = numpy_helper.from_array(rng.normal(size=(c, 2, 1, 1)).astype(np.float32), "W")
    nodes = [helper.make_node("Conv", ["x", "W"], ["c"], name="conv")]
    inits = [w]
    for key, values in params.items():
        if kind == "initializer":
            inits.append(tensor(key, values))
        elif kind == "value_floats":
            nodes.append(helper.make_node("Constant", [], [key],
                                          value_floats=values.astype(np.float32).tolist()))
        else:
            nodes.append(helper.make_node("Constant", [], [key], value=tensor(key + "_t", values)))
    nodes.append(helper.make_node("BatchNormalization", ["c", "scale", "B", "mean", "var"], ["y"],
                                  name=name, epsilon=1e-3, momentum=0.8))
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, c, 4, 4])], inits)
    return helper.make_model(graph, producer_name="bnorm-seeds",
                             opset_imports=[helper.make_opsetid("", 15)])


def model_bytes(model):
    return model.SerializeToString()


def varint(n):
    out = b""
    while True:
        out += bytes([(n & 0x7F) | (0x80 if n > 0x7F else 0)])
        n >>= 7
        if not n:
            return out


def field(number, payload):
    """A length-delimited field, laid out by hand."""
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def with_initializer(change):
    model = conv_bn_model()
    change(model.graph.initializer[1])  # the BN's scale
    return model_bytes(model)


def nested(levels):
    """graph -> If node -> then_branch graph -> ...: three messages a level, laid out by hand
    (the library would copy each level)."""
    graph = b""
    for _ in range(levels):
        attribute = field(1, b"then_branch") + b"\x20\x05" + field(6, graph)  # type GRAPH
        node = field(4, b"If") + field(5, attribute)
        graph = field(1, node)
    return b"\x08\x08" + field(7, graph)


def external(location, offset=None):
    model = conv_bn_model()
    t = model.graph.initializer[1]
    raw = t.raw_data
    t.ClearField("raw_data")
    t.data_location = TensorProto.EXTERNAL
    for key, value in [("location", location), ("offset", offset), ("length", str(len(raw)))]:
        if value is not None:
            entry = t.external_data.add()
            entry.key, entry.value = key, value
    return model_bytes(model)


def typed_count_mismatch():
    model = conv_bn_model(raw=False)
    model.graph.initializer[1].float_data.append(1.0)
    return model_bytes(model)


def bn_four_inputs():
    model = conv_bn_model()
    del model.graph.node[-1].input[-1]
    return model_bytes(model)


good_onnx = model_bytes(conv_bn_model())
graph_at = good_onnx.index(b"\x3a")  # field 7, the graph
unnamed = conv_bn_model(name="")
unnamed.graph.node.append(helper.make_node("BatchNormalization", ["y", "scale", "B", "mean", "var"],
                                           ["y2"], name="conv"))
onnx_cases = {
    "valid-conv-bn": good_onnx,
    "valid-typed-fields": model_bytes(conv_bn_model(raw=False)),
    "valid-float16": model_bytes(conv_bn_model(dtype=np.float16)),
    "valid-float16-typed": model_bytes(conv_bn_model(dtype=np.float16, raw=False)),
    "valid-bfloat16": model_bytes(conv_bn_model(dtype="bfloat16")),
    "valid-float64": model_bytes(conv_bn_model(dtype=np.float64)),
    "valid-constant-value": model_bytes(conv_bn_model(kind="value")),
    "valid-constant-value-floats": model_bytes(conv_bn_model(kind="value_floats")),
    "valid-unnamed-and-duplicate": model_bytes(unnamed),
    "nested-21-no-layer": nested(21),  # parses: only the missing layer is refused
    "empty": b"",
    "truncated-half": good_onnx[:len(good_onnx) // 2],
    "truncated-last-byte": good_onnx[:-1],
    "truncated-ir-version": b"\x08",
    "wire-type-7": good_onnx[:graph_at] + b"\x3f" + good_onnx[graph_at + 1:],
    "wire-type-group-end": good_onnx[:graph_at] + b"\x3c" + good_onnx[graph_at + 1:],
    "field-zero": good_onnx[:graph_at] + b"\x00" + good_onnx[graph_at + 1:],
    "huge-length-graph": good_onnx[:graph_at] + b"\x3a\xff\xff\xff\xff\x07" + good_onnx[graph_at + 2:],
    "huge-length-64-bit": good_onnx[:graph_at] + b"\x3a\xff\xff\xff\xff\xff\xff\xff\xff\x7f",
    "huge-length-raw-data": b"\x08\x08" + field(7, field(5, b"\x08\x03\x10\x01\x4a\xff\xff\xff\x7fabc")),
    "dims-overflow": with_initializer(lambda t: (t.ClearField("dims"),
                                                 t.dims.extend([1 << 62, 1 << 62, 4]))),
    "dims-over-2-40": with_initializer(lambda t: (t.ClearField("dims"), t.dims.extend([1 << 20, 1 << 21]))),
    "dims-negative": with_initializer(lambda t: (t.ClearField("dims"), t.dims.extend([-3]))),
    "raw-data-short": with_initializer(lambda t: setattr(t, "raw_data", t.raw_data[:-1])),
    "raw-data-long": with_initializer(lambda t: setattr(t, "raw_data", t.raw_data + b"\0\0\0\0")),
    "raw-data-and-typed": with_initializer(lambda t: t.float_data.extend([1, 2, 3])),
    "typed-count-mismatch": typed_count_mismatch(),
    "data-type-undefined": with_initializer(lambda t: setattr(t, "data_type", 0)),
    "data-type-unknown": with_initializer(lambda t: setattr(t, "data_type", 99)),
    "external-data": external("weights.bin"),
    "external-absolute": external("/etc/passwd"),
    "external-dotdot": external("../../weights.bin"),
    "external-offset-huge": external("weights.bin", "18446744073709551615"),
    "nested-30": nested(30),
    "nested-1000": nested(1000),
    "no-graph": b"\x08\x08\x12\x05bnorm",
    "bn-four-inputs": bn_four_inputs(),
}
write("onnx", onnx_cases)

# fuzz_onnx_fold: the models of tests/cli/onnx_models.py, and graphs that stress the fold's own
# walk: a BN reading its own output, a layer of a weight that is not of its op's rank, a
# ConvTranspose whose group does not divide its channels or is 0, parameters of the wrong
# length, a Gemm with a matrix C, a folded layer whose weight is a Constant of value_floats.
import sys  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "cli"))
import onnx  # noqa: E402
import onnx_models  # noqa: E402
from onnx import helper, numpy_helper  # noqa: E402


def onnx_fold_seeds():
    cases = {}
    for name in ("conv_bn", "conv_without_bias", "conv_transpose_grouped", "gemm",
                 "gemm_trans_b_alpha_beta", "gemm_scalar_c", "float16", "constant_nodes",
                 "conv_bn_bn", "subgraph_reads_conv_output", "refusals", "ir_version_3",
                 "unnamed_nodes"):
        model, _ = onnx_models.MODELS[name]()
        cases["valid-" + name.replace("_", "-")] = model.SerializeToString()

    def edited(name, edit):
        model, _ = onnx_models.MODELS[name]()
        edit(model.graph)
        return model.SerializeToString()

    def node(graph, name):
        return next(n for n in graph.node if n.name == name)

    def replace(graph, name, array):
        index = next(i for i, t in enumerate(graph.initializer) if t.name == name)
        graph.initializer[index].CopyFrom(numpy_helper.from_array(array, name))

    cases["bn-reads-itself"] = edited("conv_bn", lambda g: node(g, "bn1").input.__setitem__(
        0, "bn1_out"))
    cases["conv-weight-rank-1"] = edited("conv_bn", lambda g: replace(
        g, "conv1.weight", np.ones(4, np.float32)))
    cases["conv-weight-zero-channels"] = edited("conv_bn", lambda g: replace(
        g, "conv1.weight", np.ones((0, 3, 3, 3), np.float32)))
    cases["conv-weight-int64"] = edited("conv_bn", lambda g: replace(
        g, "conv1.weight", np.ones((4, 3, 3, 3), np.int64)))
    cases["conv-transpose-group-3"] = edited("conv_transpose_grouped", lambda g: node(
        g, "up").attribute[0].__setattr__("i", 3))
    cases["conv-transpose-group-0"] = edited("conv_transpose_grouped", lambda g: node(
        g, "up").attribute[0].__setattr__("i", 0))
    cases["bn-scale-too-short"] = edited("conv_bn", lambda g: replace(
        g, "bn1.scale", np.ones(3, np.float32)))
    cases["bn-scale-matrix"] = edited("conv_bn", lambda g: replace(
        g, "bn1.scale", np.ones((2, 2), np.float32)))
    cases["gemm-matrix-c"] = onnx_models.MODELS["gemm_matrix_c"]()[0].SerializeToString()
    cases["bn-var-minus-eps"] = edited("conv_bn", lambda g: replace(
        g, "bn1.var", np.full(4, -np.float32(1e-3), np.float32)))

    def value_floats_weight(g):
        conv = node(g, "fc")
        g.node.insert(0, helper.make_node("Constant", [], ["w_floats"], value_floats=[1.0] * 20))
        conv.input[1] = "w_floats"
    cases["gemm-weight-value-floats"] = edited("gemm", value_floats_weight)

    def external_location(g):
        tensor = next(t for t in g.initializer if t.name == "conv1.weight")
        tensor.ClearField("raw_data")
        tensor.data_location = onnx.TensorProto.EXTERNAL
        tensor.external_data.add(key="location", value="model.onnx")
        tensor.external_data.add(key="length", value=str(4 * 4 * 3 * 3 * 3))
    cases["weight-external-in-itself"] = edited("conv_bn", external_location)
    return cases


write("onnx_fold", onnx_fold_seeds())


# CSV and TSV tables: the first byte picks the dialect (bit 0: tabs, bit 1: --missing nan), the
# rest is the table.  One valid table of each dialect, and one seed for each refusal.
def table(text, tabs=False, missing=False):
    return bytes([int(tabs) | 2 * int(missing)]) + text.encode()


csv_cases = {
    "valid-header": table("a,b,c\n1,2,3\n-4.5e-1,inf,nan\n"),
    "valid-no-header": table("1,2\r\n3,4\r\n"),
    "valid-quoted": table('"a,1","b ""2""\n"c"\n"1", +2\n'),
    "valid-tsv": table("x\ty\n1\t2\n3\t4", tabs=True),
    "valid-missing": table("a,b\n1,\n,2\n", missing=True),
    "valid-one-column-blank-line": table("a\n1\n\n2\n", missing=True),
    "empty": table(""),
    "byte-order-mark": table("\ufeffa,b\n1,2\n"),
    "header-only": table("a,b\n"),
    "ragged-row": table("a,b,c\n1,2,3\n4,5\n"),
    "not-a-number": table("a,b\n1,2\n3,4x\n"),
    "underscore": table("a\n1_000\n"),
    "nan-payload": table("a\nnan(1)\n"),
    "empty-field": table("a,b\n1,2\n3,\n"),
    "unterminated-quote": table('a,b\n1,"2\n3,4\n'),
    "quote-inside-field": table('a,b\n1,2"\n'),
    "text-after-quote": table('a,b\n1,"2"3\n'),
    "nul-byte": table("a,b\n1,2\x003\n"),
    "duplicate-name": table("a,b,a\n1,2,3\n"),
    "empty-name": table("a,,c\n1,2,3\n"),
    "empty-line": table("a,b\n1,2\n\n3,4\n"),
    "lone-carriage-return": table("a,b\n1,2\r3,4\n"),
    "quoted-newline-then-error": table('a,"b\nc"\n1,2\n3,y\n'),
}
write("csv", csv_cases)
