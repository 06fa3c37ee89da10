#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Limits of the .npz and .safetensors readers and writers, from a security review: every
crafted file is refused with exit status 3 and one short `bnorm: error: <file>:` line, no
output file and the input untouched, in a process limited to 256 MiB of address space (a
small hostile file that runs bnorm out of memory is a bug)."""
import json
import os
import resource
import struct
import subprocess
import unittest
import zipfile
import zlib

import numpy as np

from cli_support import BNORM, Result, ScratchTestCase, digest, write_safetensors

LIMIT = 256 << 20
SANITIZED = os.environ.get("BNORM_SANITIZED") == "1"


def limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))


def stored_zip(members):
    """A ZIP of stored members [(name bytes, data bytes)], laid out by hand."""
    local, central, offset = b"", b"", 0
    for name, data in members:
        crc = zlib.crc32(data)
        header = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 0x21, crc, len(data),
                             len(data), len(name), 0) + name
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 0x031E, 20, 0, 0, 0, 0x21, crc,
                               len(data), len(data), len(name), 0, 0, 0, 0, 0, offset) + name
        local += header + data
        offset += len(header) + len(data)
    count = len(members)
    if count < 0xFFFF:
        end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, len(central), offset, 0)
    else:
        end = (struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, count, count,
                           len(central), offset) +
               struct.pack("<IIQI", 0x07064B50, 0, offset + len(central), 1) +
               struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF,
                           0xFFFFFFFF, 0))
    return local + central + end


class Limits(ScratchTestCase):
    def limited(self, *args):
        completed = subprocess.run([BNORM, *[str(a) for a in args]], cwd=self.dir,
                                   capture_output=True, timeout=120,
                                   preexec_fn=None if SANITIZED else limit_memory)
        return Result(completed)

    def assertRefused(self, name, args, *phrases):
        before = digest(self.path(name))
        result = self.limited(*args)
        self.assertFailsWith(result, 3, "bnorm: error: ", *phrases)
        self.assertLess(len(result.stderr), 1000, result.stderr[:300])
        self.assertEqual(digest(self.path(name)), before)
        return result

    def test_a_name_too_long_for_a_zip_header_is_refused_before_writing(self):
        # 65,533 bytes + ".npy" do not fit the 16-bit name length: once exit 0 and a corrupt
        # archive whose name length kept the low 16 bits.
        name = "n" * 65533
        write_safetensors(self.path("long.safetensors"),
                          [(name, "F32", [2, 1], struct.pack("<2f", 1, 2))])
        self.assertRefused("long.safetensors", ["convert", "long.safetensors", "long.npz"],
                           "long.npz: tensor name 'nnnn", "(a name of 65533 bytes) is too long "
                           "for an .npz member")
        self.assertFalse(self.path("long.npz").exists())
        # One byte shorter fits, and NumPy reads it.
        write_safetensors(self.path("fits.safetensors"),
                          [(name[:-2], "F32", [2, 1], struct.pack("<2f", 1, 2))])
        self.assertEqual(self.limited("convert", "fits.safetensors", "fits.npz").status, 0)
        with np.load(self.path("fits.npz")) as z:
            self.assertEqual(z[name[:-2]].tolist(), [[1.0], [2.0]])

    @unittest.skipIf(SANITIZED, "a sanitized build reserves terabytes of address space")
    def test_a_110_mib_npz_streams_to_a_file_and_fits_in_memory_to_a_pipe(self):
        # The writer once joined header and data into a copy of each tensor: two copies of
        # 110 MiB did not fit in 256 MiB.  To a file it now streams (48 MiB is plenty); to
        # standard output it holds the tensor once.
        x = np.arange(110 << 18, dtype=np.float32).reshape(-1, 1) % 1000
        np.save(self.path("x.npy"), x)
        small = 48 << 20
        completed = subprocess.run(
            [BNORM, "convert", "x.npy", "x.npz"], cwd=self.dir, capture_output=True, timeout=120,
            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (small, small)))
        self.assertEqual(completed.returncode, 0, completed.stderr)
        with zipfile.ZipFile(self.path("x.npz")) as z:
            self.assertIsNone(z.testzip())  # every CRC-32
        with np.load(self.path("x.npz")) as z:
            np.testing.assert_array_equal(z["x"], x)
        result = self.limited("convert", "x.npy", "-", "--output-format", "npz")
        self.assertEqual(result.status, 0, result)
        self.assertEqual(result.stdout, self.path("x.npz").read_bytes())

    def test_streamed_npz_equals_the_one_assembled_for_a_pipe(self):
        # The file's CRC-32 is combined from ranges written in any order; a pipe's is computed
        # over the whole member: both give np.savez's layout, byte for byte.
        for name, x in (("c", np.random.default_rng(3).normal(size=(7, 3, 5)).astype(np.float32)),
                        ("f", np.asfortranarray(np.random.default_rng(4).normal(size=(9, 2, 4)))),
                        ("e", np.zeros((0, 3), np.float32))):
            with self.subTest(tensor=name):
                np.save(self.path(name + ".npy"), x)
                self.assertEqual(self.limited("convert", name + ".npy", name + ".npz").status, 0)
                piped = self.limited("convert", name + ".npy", "-", "--output-format", "npz")
                self.assertEqual(piped.status, 0, piped)
                self.assertEqual(piped.stdout, self.path(name + ".npz").read_bytes())
                with zipfile.ZipFile(self.path(name + ".npz")) as z:
                    self.assertIsNone(z.testzip())

    def test_a_deflate_bomb_is_refused_before_inflating(self):
        # 300 MiB of zeros deflate to some 300 KB; the member declares what it inflates to.
        size = 300 << 20
        text = "{'descr': '|u1', 'fortran_order': False, 'shape': (%d, 1), }" % size
        text += " " * (63 - (10 + len(text)) % 64) + "\n"
        header = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode()
        deflate = zlib.compressobj(1, zlib.DEFLATED, -15)
        data, crc = deflate.compress(header), zlib.crc32(header)
        chunk = bytes(1 << 20)
        for _ in range(size >> 20):
            data += deflate.compress(chunk)
            crc = zlib.crc32(chunk, crc)
        data += deflate.flush()
        usize = len(header) + size
        name = b"x.npy"
        local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, len(data), usize,
                            len(name), 0) + name
        central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 0x031E, 20, 0, 8, 0, 0x21, crc,
                              len(data), usize, len(name), 0, 0, 0, 0, 0, 0) + name
        end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central),
                          len(local) + len(data), 0)
        self.path("bomb.npz").write_bytes(local + data + central + end)
        self.assertRefused("bomb.npz", ["apply", "bomb.npz", "-o", "y.npy"],
                           "bomb.npz: member 'x.npy' at byte 35 declares %d bytes" % usize,
                           "inflates a compressed member in memory, at most 67108864 bytes",
                           "np.savez")
        self.assertFalse(self.path("y.npy").exists())

    def test_a_declared_size_of_2_64_minus_1_is_reported_as_declared(self):
        # 2^64 - 1 once wrapped the room left for inflation to 0: the message claimed the
        # member inflated to more than it declared.
        data = zlib.compressobj(9, zlib.DEFLATED, -15)
        raw = data.compress(b"\0" * 100) + data.flush()
        usize, crc, name = (1 << 64) - 1, zlib.crc32(b"\0" * 100), b"a.npy"
        extra = struct.pack("<HHQQ", 1, 16, usize, len(raw))
        local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 8, 0, 0x21, crc, 0xFFFFFFFF,
                            0xFFFFFFFF, len(name), len(extra)) + name + extra
        central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 0x032D, 45, 0, 8, 0, 0x21, crc,
                              0xFFFFFFFF, 0xFFFFFFFF, len(name), len(extra), 0, 0, 0, 0,
                              0) + name + extra
        end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central),
                          len(local) + len(raw), 0)
        self.path("huge.npz").write_bytes(local + raw + central + end)
        self.assertRefused("huge.npz", ["apply", "huge.npz", "-o", "y.npy"],
                           "huge.npz: member 'a.npy' at byte %d declares 18446744073709551615 "
                           "bytes" % len(local))

    def test_a_compressed_member_under_the_limit_is_read(self):
        x = np.zeros((8 << 18, 2), np.float32)  # 16 MiB, deflated to a few KB
        x[::2, 1] = 1
        np.savez_compressed(self.path("c.npz"), x=x)
        result = self.limited("stats", "c.npz", "--format", "json")
        self.assertEqual(result.status, 0, result)

    def test_too_many_members_are_refused_from_the_end_record(self):
        # 1.26 million empty members once fit the directory limit and ran out of memory.
        self.path("many.npz").write_bytes(stored_zip([(b"%06x.npy" % i, b"") for i in range(70000)]))
        self.assertRefused("many.npz", ["apply", "many.npz", "-o", "y.npy"],
                           "many.npz: end record at byte", "claims 70000 members, more than "
                           "65536 (bnorm's limit)")

    def test_a_member_that_is_not_npy_is_refused_as_the_directory_is_read(self):
        members = [(b"a.npy", b""), (b"notes.txt", b"hi")] + [(b"%d.npy" % i, b"") for i in range(3)]
        self.path("m.npz").write_bytes(stored_zip(members))
        self.assertRefused("m.npz", ["apply", "m.npz", "-o", "y.npy"],
                           "m.npz: member 'notes.txt' (central directory at byte",
                           "is not a .npy file")

    def test_long_names_are_shortened_in_messages(self):
        # A 95 MB key once made a 95 MB error line; a key is now at most 64 KiB.
        write_safetensors(self.path("key.safetensors"),
                          [("k" * (20 << 20), "F32", [2, 1], struct.pack("<2f", 1, 2))])
        self.assertRefused("key.safetensors", ["apply", "key.safetensors", "-o", "y.npy"],
                           "key.safetensors: header at byte 8: a key of 20971520 bytes",
                           "longer than 65536 bytes (bnorm's limit)")
        # A member name of 60,000 bytes (ZIP allows 65,535) in a message: its first 64 bytes.
        self.path("n.npz").write_bytes(stored_zip([(b"\n" * 60000, b"")]))
        self.assertRefused("n.npz", ["apply", "n.npz", "-o", "y.npy"],
                           "n.npz: member '" + "\\x0a" * 64 + "...' (a name of 60000 bytes)")

    def test_num_batches_tracked_past_2_53_is_counted_exactly(self):
        # Read through a double, 2^53 + 2 once became 2^53 and 2^53 + 3 could not be written.
        x = np.arange(24, dtype=np.float32).reshape(4, 3, 2)
        np.save(self.path("x.npy"), x)
        count = (1 << 53) + 2
        write_safetensors(self.path("s.safetensors"), [
            ("running_mean", "F64", [3], np.zeros(3).tobytes()),
            ("running_var", "F64", [3], np.ones(3).tobytes()),
            ("num_batches_tracked", "I64", [], struct.pack("<q", count))])
        result = self.limited("apply", "x.npy", "-o", "y.npy", "--state", "s.safetensors",
                              "--stats-out", "out.json")
        self.assertEqual(result.status, 0, result)
        self.assertEqual(json.loads(self.path("out.json").read_text())["num_batches_tracked"],
                         count + 1)
        result = self.limited("apply", "x.npy", "-o", "y.npy", "--state", "s.safetensors",
                              "--stats-out", "out.safetensors")
        self.assertEqual(result.status, 0, result)
        raw = self.path("out.safetensors").read_bytes()
        (n,) = struct.unpack("<Q", raw[:8])
        begin, end = json.loads(raw[8:8 + n])["num_batches_tracked"]["data_offsets"]
        self.assertEqual(struct.unpack("<q", raw[8 + n + begin:8 + n + end])[0], count + 1)

    def test_a_member_name_that_is_not_utf8_is_refused(self):
        # Refused as the archive is read (issue #11: readers decode such a name two ways), so
        # no writer is ever given it.
        data = np.ones((2, 3), np.float32)
        np.save(self.path("w.npy"), data)
        self.path("u.npz").write_bytes(stored_zip([(b"w\xff.npy", self.path("w.npy").read_bytes())]))
        self.assertRefused("u.npz", ["convert", "u.npz", "u.safetensors"],
                           "u.npz: member 'w\\xff.npy'", "the name is not valid UTF-8")
        self.assertFalse(self.path("u.safetensors").exists())


if __name__ == "__main__":
    unittest.main()
