#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Archives with two readings (issue #11): each .npz here is read one way by Python's zipfile
and np.load and another way by a second reader (Info-ZIP's unzip where it is installed, or a
reader that follows the other end record, walks local headers from the start of the file, or
takes a name from an extra field; each written here in a few lines), and bnorm refuses it
with exit 3 and one line naming the reason.  The archives are written by Python's zipfile (as
np.savez writes them) and then changed by hand where zipfile cannot write the case."""
import io
import itertools
import ntpath
import os
import pathlib
import shutil
import stat
import struct
import subprocess
import tempfile
import unittest
import zipfile
import zlib

import numpy as np

from cli_support import ScratchTestCase, write_safetensors

END = b"PK\x05\x06"
ARRAY_A = np.arange(6, dtype=np.float32).reshape(2, 3)
ARRAY_B = -np.arange(6, dtype=np.float32).reshape(2, 3) - 100
UNZIP = shutil.which("unzip")
LARGE = os.environ.get("BNORM_LARGE_GRID") == "1"
# Under the sanitizers a process costs many times its Release start-up: the name-bytes grid,
# a process a name, runs a quarter of the bytes there, and every byte its rules name.
SANITIZED = os.environ.get("BNORM_SANITIZED") == "1" and not LARGE


def npy(array):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array)
    return buffer.getvalue()


def savez_like(members):
    """A zip as np.savez writes it (stored, ZIP64 local extra): members is [(name, bytes)] or
    [(ZipInfo, bytes)]."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members:
            with archive.open(name, "w", force_zip64=True) as member:
                member.write(content)
    return buffer.getvalue()


def end_record(data, at=None):
    at = data.rindex(END) if at is None else at
    return at, struct.unpack("<4s4H2LH", data[at:at + 22])


def split(data):
    """(members, central directory, end record) of a comment-less zip without ZIP64 records."""
    at, fields = end_record(data)
    return data[:fields[6]], data[fields[6]:at], data[at:]


def end_bytes(entries, directory_size, directory_offset, comment_size=0):
    return struct.pack("<4s4H2LH", END, 0, 0, entries, entries, directory_size, directory_offset,
                       comment_size)


def with_local_offset(directory, offset):
    """A one-entry central directory pointing at the local header at `offset`."""
    entry = bytearray(directory)
    struct.pack_into("<I", entry, 42, offset)
    return bytes(entry)


def local_records(data):
    """What a reader walking the file from its first byte finds: (name, content) for each local
    header in a row (sizes from the header or its ZIP64 extra field), as streaming readers do."""
    found, at = [], 0
    while data[at:at + 4] == b"PK\x03\x04":
        (_, _, flags, method, _, _, crc, compressed, size, name_size,
         extra_size) = struct.unpack("<4s5H3L2H", data[at:at + 30])
        name = data[at + 30:at + 30 + name_size]
        extra = data[at + 30 + name_size:at + 30 + name_size + extra_size]
        if compressed == 0xFFFFFFFF and extra[:2] == b"\x01\x00":
            size, compressed = struct.unpack("<QQ", extra[4:20])
        start = at + 30 + name_size + extra_size
        found.append((name.decode("utf-8", "replace"), data[start:start + compressed]))
        at = start + compressed
    return found


def member_at(data, directory_offset):
    """What a reader that follows a central directory at `directory_offset` reads from its first
    entry: (name, array)."""
    entry = data[directory_offset:directory_offset + 46]
    name_size, extra_size = struct.unpack("<HH", entry[28:32])
    (local,) = struct.unpack("<I", entry[42:46])
    name = data[directory_offset + 46:directory_offset + 46 + name_size].decode()
    (_, content), = local_records(data[local:])[:1]
    return name, np.load(io.BytesIO(content))


def numpy_reading(path):
    """What np.load reads: {key: array}, or the exception's type and text."""
    try:
        with open(path, "rb") as f, np.load(f) as archive:
            return {key: archive[key] for key in archive.files}
    except Exception as e:  # noqa: BLE001 - a refusal is a reading too
        return f"{type(e).__name__}: {e}"


def unzip_reading(path):
    """What Info-ZIP's unzip extracts: {relative path: bytes or 'symlink'}, or its failure."""
    folder = pathlib.Path(tempfile.mkdtemp(prefix="bnorm-unzip-"))
    try:
        completed = subprocess.run([UNZIP, "-qq", "-o", str(path), "-d", str(folder)],
                                   capture_output=True, timeout=60)
        result = {}
        for p in sorted(folder.rglob("*")):
            if p.is_symlink():
                result[str(p.relative_to(folder))] = "symlink"
            elif p.is_file():
                result[str(p.relative_to(folder))] = p.read_bytes()
        return result if result or completed.returncode == 0 else f"exit {completed.returncode}"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def two_directories(comment_size_delta):
    """x.npy twice (A, then B), the first central directory naming A and ending in an end record
    whose comment holds a second directory naming B and its end record.  With delta 0 both end
    records reach the end of the file; otherwise the last one's comment length is off by
    delta, as Python's zipfile does not check."""
    body_a, directory_a, _ = split(savez_like([("x.npy", npy(ARRAY_A))]))
    body_b, directory_b, _ = split(savez_like([("x.npy", npy(ARRAY_B))]))
    body = body_a + body_b
    first = with_local_offset(directory_a, 0)
    second = with_local_offset(directory_b, len(body_a))
    second_at = len(body) + len(first) + 22
    comment = second + end_bytes(1, len(second), second_at, comment_size_delta)
    data = body + first + end_bytes(1, len(first), len(body), len(comment)) + comment
    return data, len(body)


class ZipDifferentials(ScratchTestCase):
    def refused(self, data, *phrases, name="x.npz"):
        self.path(name).write_bytes(data)
        result = self.bnorm("apply", name, "-o", "y.npy")
        self.assertFailsWith(result, 3, f"bnorm: error: {name}: ", *phrases)
        self.assertFalse(self.path("y.npy").exists())

    def test_an_end_record_in_the_comment_that_also_reaches_the_end(self):
        data, first_directory = two_directories(0)
        self.path("x.npz").write_bytes(data)
        # Python's zipfile takes the last end record: B.  A reader taking the first: A.
        np.testing.assert_array_equal(numpy_reading(self.path("x.npz"))["x"], ARRAY_B)
        name, first = member_at(data, first_directory)
        self.assertEqual(name, "x.npy")
        np.testing.assert_array_equal(first, ARRAY_A)
        self.refused(data, "two end-of-central-directory records at byte", "both reach the end")

    def test_an_end_record_signature_in_the_comment(self):
        data, first_directory = two_directories(1)
        self.path("x.npz").write_bytes(data)
        # Python's zipfile takes the last signature, whatever its comment length: B.  A reader
        # checking the comment length (bnorm until now) takes the first record: A.
        np.testing.assert_array_equal(numpy_reading(self.path("x.npz"))["x"], ARRAY_B)
        np.testing.assert_array_equal(member_at(data, first_directory)[1], ARRAY_A)
        self.refused(data, "is followed by another end-record signature", "(in its comment)")

    def test_a_zip64_end_record_with_extensible_data(self):
        # Python's zipfile looks for the ZIP64 end record 56 bytes before the locator; this one
        # is further up (extensible data follows it), so Python reads the 32-bit end record,
        # which names directory A, while the locator leads to the ZIP64 record naming B.  The
        # extensible data is directory A, whose entry's comment is the locator.
        body_a, directory_a, _ = split(savez_like([("x.npy", npy(ARRAY_A))]))
        body_b, directory_b, _ = split(savez_like([("x.npy", npy(ARRAY_B))]))
        body = body_a + body_b
        directory_b = with_local_offset(directory_b, len(body_a))
        directory_a = bytearray(with_local_offset(directory_a, 0))
        struct.pack_into("<H", directory_a, 32, 20)  # the entry's comment: the locator's 20 bytes
        record_at = len(body) + len(directory_b)
        first_at = record_at + 56
        directory_a_size = len(directory_a) + 20
        record = struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44 + len(directory_a), 45, 45, 0, 0, 1, 1,
                             len(directory_b), len(body))
        locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, record_at, 1)
        data = (body + directory_b + record + bytes(directory_a) + locator +
                end_bytes(1, directory_a_size, first_at))
        self.path("x.npz").write_bytes(data)
        np.testing.assert_array_equal(numpy_reading(self.path("x.npz"))["x"], ARRAY_A)
        np.testing.assert_array_equal(member_at(data, len(body))[1], ARRAY_B)
        self.refused(data, "does not end where the ZIP64 locator starts")

    def test_a_zip64_end_record_that_disagrees_with_the_32_bit_one(self):
        # Python's zipfile always takes the ZIP64 record (directory B); Go's archive/zip only
        # when a 32-bit field holds its marker, and none does here (directory A).
        body_a, directory_a, _ = split(savez_like([("x.npy", npy(ARRAY_A))]))
        body_b, directory_b, _ = split(savez_like([("x.npy", npy(ARRAY_B))]))
        body = body_a + body_b
        directory_a = with_local_offset(directory_a, 0)
        directory_b = with_local_offset(directory_b, len(body_a))
        record_at = len(body) + len(directory_a) + len(directory_b)
        record = struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, 1, 1,
                             len(directory_b), len(body) + len(directory_a))
        locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, record_at, 1)
        data = (body + directory_a + directory_b + record + locator +
                end_bytes(1, len(directory_a), len(body)))
        self.path("x.npz").write_bytes(data)
        np.testing.assert_array_equal(numpy_reading(self.path("x.npz"))["x"], ARRAY_B)
        np.testing.assert_array_equal(member_at(data, len(body))[1], ARRAY_A)
        self.refused(data, "gives central directory offset", "its ZIP64 end record at byte")

    def test_a_member_hidden_before_the_first(self):
        # A local header before the archive's first member, as a self-extracting stub sits
        # there: the central directory (np.load) names A, a reader walking the file from its
        # start finds B first.  Python's zipfile appends the archive after it in mode "a".
        hidden, _, _ = split(savez_like([("x.npy", npy(ARRAY_B))]))
        self.path("x.npz").write_bytes(hidden)
        with zipfile.ZipFile(self.path("x.npz"), "a") as archive:
            with archive.open("x.npy", "w", force_zip64=True) as member:
                member.write(npy(ARRAY_A))
        data = self.path("x.npz").read_bytes()
        np.testing.assert_array_equal(numpy_reading(self.path("x.npz"))["x"], ARRAY_A)
        name, content = local_records(data)[0]
        self.assertEqual(name, "x.npy")
        np.testing.assert_array_equal(np.load(io.BytesIO(content)), ARRAY_B)
        self.refused(data, f"{len(hidden)} bytes at byte 0 belong to no member (before the first")

    def test_a_member_hidden_between_members_and_the_directory(self):
        body, directory, _ = split(savez_like([("x.npy", npy(ARRAY_A))]))
        hidden, _, _ = split(savez_like([("y.npy", npy(ARRAY_B))]))
        data = body + hidden + directory + end_bytes(1, len(directory), len(body) + len(hidden))
        self.path("x.npz").write_bytes(data)
        self.assertEqual(list(numpy_reading(self.path("x.npz"))), ["x"])
        self.assertEqual([name for name, _ in local_records(data)], ["x.npy", "y.npy"])
        self.refused(data, f"{len(hidden)} bytes at byte {len(body)} belong to no member")

    def patched_names(self, name, replacement, flags=None):
        """A savez-like archive of one member `name` with the name's bytes replaced in both
        headers (same length), and the general-purpose flags set to `flags` if given."""
        data = bytearray(savez_like([(name, npy(ARRAY_A))]))
        data = bytearray(bytes(data).replace(name.encode(), replacement))
        if flags is not None:
            struct.pack_into("<H", data, 6, flags)
            struct.pack_into("<H", data, data.index(b"PK\x01\x02") + 8, flags)
        return bytes(data)

    def test_names_that_leave_the_folder(self):
        # (On Linux zipfile keeps "C:" and the backslash; on Windows it drops the drive and
        # reads the backslash as a folder separator.)
        for name, reason in (("../x.npy", "has a '..' segment"),
                             ("/tmp/x.npy", "is an absolute path"),
                             ("C:/x.npy", "starts with a drive letter"),
                             ("a\\x.npy", "holds a backslash")):
            with self.subTest(name=name):
                data = savez_like([(name, npy(ARRAY_A))])
                self.path("x.npz").write_bytes(data)
                # np.load's key is the name; an extractor writes the file somewhere else (or,
                # on Windows, under a folder "a"): two names for one member.
                self.assertEqual(list(numpy_reading(self.path("x.npz"))), [name[:-4]])
                with zipfile.ZipFile(self.path("x.npz")) as archive:
                    extracted = pathlib.Path(archive.extract(name, self.path("out")))
                if name.startswith(("/", "..")):
                    self.assertNotEqual(extracted, self.path("out") / name)
                shutil.rmtree(self.path("out"))
                self.refused(data, f"member '{name.replace(chr(92), chr(92) + 'x5c')}'", reason)

    def test_a_name_cut_at_a_nul_byte(self):
        # Python's zipfile cuts "x.npy\0.npy" at the NUL: np.load's key is "x"; bnorm read the
        # tensor 'x.npy\x00' until now.
        data = self.patched_names("x.npyz.npy", b"x.npy\0.npy")
        self.path("x.npz").write_bytes(data)
        self.assertEqual(list(numpy_reading(self.path("x.npz"))), ["x"])
        self.refused(data, "member 'x.npy\\x00.npy'", "holds a NUL byte")

    def test_a_utf8_name_without_the_utf8_flag(self):
        # Without bit 11 Python's zipfile decodes the name as CP437: "ü.npy" is "├╝.npy".
        data = self.patched_names("ü.npy", "ü.npy".encode(), flags=0)
        self.path("x.npz").write_bytes(data)
        self.assertEqual(list(numpy_reading(self.path("x.npz"))), ["├╝"])
        self.refused(data, "member '\\xc3\\xbc.npy'", "its UTF-8 flag (bit 11) is not set")

    def test_a_name_that_is_not_utf8(self):
        for flags, python_reads in ((0x800, "UnicodeDecodeError"), (0, "x\xa0")):
            with self.subTest(flags=flags):
                data = self.patched_names("xy.npy", b"x\xff.npy", flags=flags)
                self.path("x.npz").write_bytes(data)
                reading = numpy_reading(self.path("x.npz"))
                self.assertIn(python_reads, reading if isinstance(reading, str) else list(reading))
                self.refused(data, "member 'x\\xff.npy'", "is not valid UTF-8")

    def test_name_bytes_grid_against_python(self):
        # Every byte value inside a member name, with and without the UTF-8 flag (and, with
        # BNORM_LARGE_GRID=1 and the flag, every two-byte sequence from a non-ASCII lead byte
        # and three- and four-byte ones with their continuation bytes at the edges of UTF-8's
        # ranges).  Python's zipfile
        # is the reference: bnorm reads the member exactly when Python reads the same name that
        # the bytes spell in UTF-8 (no CP437, no cut at a NUL) and neither a backslash nor a
        # drive ("a:") changes it on Windows (ntpath); otherwise it refuses it, naming the name.
        sequences = [bytes([b]) for b in range(256)
                     if not SANITIZED or b % 4 == 0 or b in b"\0./:\\\x7f\x80\xbf\xc0\xff"]
        if os.environ.get("BNORM_LARGE_GRID") == "1":
            edges = (0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xFF)
            sequences += [bytes([a, b]) for a in range(0x80, 0x100) for b in range(256)]
            sequences += [bytes([a, b, c]) for a in range(0xE0, 0x100) for b in edges
                          for c in edges]
            sequences += [bytes([a, b, c, 0x80]) for a in range(0xF0, 0x100) for b in edges
                          for c in (0x80, 0xBF)]
        templates = {}  # by the sequence's length: the name's length must not change
        checked = 0
        for sequence in sequences:
            raw = b"a" + sequence + b".npy"
            placeholder = b"a" + b"n" * len(sequence) + b".npy"
            if len(sequence) not in templates:
                templates[len(sequence)] = savez_like([(placeholder.decode(), npy(ARRAY_A))])
            # Without the flag Python reads ASCII as with it, and any other byte as CP437.
            for flags in (0, 0x800) if len(sequence) == 1 else (0x800,):
                if flags == 0 and sequence.isascii():
                    continue
                data = bytearray(templates[len(sequence)].replace(placeholder, raw))
                struct.pack_into("<H", data, 6, flags)
                struct.pack_into("<H", data, data.index(b"PK\x01\x02") + 8, flags)
                try:
                    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
                        python_name = archive.namelist()[0]
                    # zipfile on Windows reads a backslash as a folder, a drive as absolute.
                    readable = (python_name.encode("utf-8") == raw and "\\" not in python_name
                                and not ntpath.splitdrive(python_name)[0])
                except UnicodeDecodeError:
                    readable = False
                with self.subTest(name=raw, flags=flags):
                    self.path("g.npz").write_bytes(bytes(data))
                    result = self.bnorm("stats", "g.npz")
                    if readable:
                        self.assertEqual(result.status, 0, result)
                    else:
                        self.assertFailsWith(result, 3, "bnorm: error: g.npz: member 'a",
                                             "): the name ")
                checked += 1
        self.assertGreaterEqual(checked, 100 if SANITIZED else 384)

    def test_a_unicode_path_extra_field_naming_another_member(self):
        # np.load takes the header's name ("x.npy"); Info-ZIP's unzip the extra field's.
        info = zipfile.ZipInfo("x.npy")
        info.extra = struct.pack("<HHBL", 0x7075, 5 + 5, 1, zlib.crc32(b"x.npy")) + b"y.npy"
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr(info, npy(ARRAY_A))
        data = buffer.getvalue()
        self.path("x.npz").write_bytes(data)
        self.assertEqual(list(numpy_reading(self.path("x.npz"))), ["x"])
        if UNZIP:
            self.assertEqual(list(unzip_reading(self.path("x.npz"))), ["y.npy"])
        self.refused(data, "Unicode Path extra field (0x7075) naming 'y.npy'")

    def test_a_symbolic_link(self):
        # np.load reads the member's bytes; an extractor that honours the Unix mode (unzip)
        # creates a symbolic link to a path made of them.
        info = zipfile.ZipInfo("x.npy")
        info.create_system = 3
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr(info, npy(ARRAY_A))
        data = bytes(buffer.getvalue())
        self.path("x.npz").write_bytes(data)
        with zipfile.ZipFile(self.path("x.npz")) as archive:
            self.assertTrue(stat.S_ISLNK(archive.getinfo("x.npy").external_attr >> 16))
        if UNZIP:
            self.assertEqual(unzip_reading(self.path("x.npz")), {"x.npy": "symlink"})
        self.refused(data, "is not a regular file")

    def test_a_unix_file_type_whatever_the_host(self):
        # Info-ZIP's unzip takes the Unix mode in the high 16 bits of the external attributes
        # from more hosts than Unix (3): it makes a symbolic link from hosts 2, 5, 16 and 30 too,
        # and from MS-DOS (0) where the mode agrees with the DOS attributes.  bnorm reads a
        # member exactly when those bits name no type or a regular file, whatever the host, and
        # every member unzip extracts as anything but a regular file is refused.  CI runs a few
        # hosts, types and modes; BNORM_LARGE_GRID=1 every host byte, every S_IFMT value, and
        # DOS attributes none, read-only and archive.
        hosts = range(256) if LARGE else (0, 2, 3, 5, 10, 16, 19, 30)
        types = [t << 12 for t in range(16)] if LARGE else [
            0, stat.S_IFREG, stat.S_IFLNK, stat.S_IFDIR, stat.S_IFIFO, stat.S_IFCHR, stat.S_IFBLK,
            stat.S_IFSOCK]
        modes = (0o777, 0o644, 0o444) if LARGE else (0o777, 0o644)
        dos_attributes = (0, 0x01, 0x20) if LARGE else (0,)
        extracted_otherwise = set()
        for host, kind, mode, dos in itertools.product(hosts, types, modes, dos_attributes):
            info = zipfile.ZipInfo("x.npy")
            info.create_system = host
            info.external_attr = (kind | mode) << 16 | dos
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w") as archive:
                archive.writestr(info, npy(ARRAY_A))
            self.path("x.npz").write_bytes(buffer.getvalue())
            with self.subTest(host=host, type=oct(kind), mode=oct(mode), dos=dos):
                extracted = self.unzip_kind("x.npz") if UNZIP else None
                result = self.bnorm("convert", "x.npz", "y.npy")
                if kind in (0, stat.S_IFREG):
                    self.assertEqual(result.status, 0, result)
                    np.testing.assert_array_equal(np.load(self.path("y.npy")), ARRAY_A)
                    self.assertIn(extracted, (None, "file"))
                else:
                    self.assertFailsWith(result, 3, "bnorm: error: x.npz: member 'x.npy' "
                                         "(central directory at byte ", "is not a regular file "
                                         f"(external attributes {info.external_attr})")
                    if extracted not in (None, "file"):
                        extracted_otherwise.add((host, extracted))
        if UNZIP:
            for host in (0, 2, 3, 5, 16, 30):
                self.assertIn((host, "symlink"), extracted_otherwise)
        if LARGE:
            print(f"\nunzip extracts other than a regular file: {sorted(extracted_otherwise)}")
        # What Python's zipfile writes is still read: np.savez and np.savez_compressed (no type,
        # -rw-------) and zipfile.write of a real file (S_IFREG and its mode).
        self.path("x.npy").write_bytes(npy(ARRAY_B))
        os.chmod(self.path("x.npy"), 0o644)
        with zipfile.ZipFile(self.path("w.npz"), "w") as archive:
            archive.write(self.path("x.npy"), "x.npy")
        np.savez(self.path("s.npz"), x=ARRAY_B)
        np.savez_compressed(self.path("c.npz"), x=ARRAY_B)
        for name, attributes in (("w.npz", (stat.S_IFREG | 0o644) << 16), ("s.npz", 0o600 << 16),
                                 ("c.npz", 0o600 << 16)):
            with self.subTest(name=name):
                with zipfile.ZipFile(self.path(name)) as archive:
                    self.assertEqual(archive.getinfo("x.npy").external_attr, attributes)
                    self.assertEqual(archive.getinfo("x.npy").create_system, 3)
                result = self.bnorm("convert", name, "y.npy")
                self.assertEqual(result.status, 0, result)
                np.testing.assert_array_equal(np.load(self.path("y.npy")), ARRAY_B)

    def unzip_kind(self, name):
        """What Info-ZIP's unzip makes of the archive's one member x.npy: 'file', 'symlink',
        'directory', 'other' or 'missing'."""
        folder = self.path("unzipped")
        shutil.rmtree(folder, ignore_errors=True)
        subprocess.run([UNZIP, "-qq", "-o", str(self.path(name)), "-d", str(folder)],
                       capture_output=True, timeout=60)
        try:
            mode = os.lstat(folder / "x.npy").st_mode
        except FileNotFoundError:
            return "missing"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return ("file" if stat.S_ISREG(mode) else "symlink" if stat.S_ISLNK(mode) else
                "directory" if stat.S_ISDIR(mode) else "other")

    def test_a_member_named_as_another_members_tensor(self):
        # np.savez writes tensors "a" and "a.npy" as members a.npy and a.npy.npy; np.load looks
        # a key up as a member name first, so its "a.npy" is member a.npy (the "a" array), and
        # bnorm's tensor "a.npy" was member a.npy.npy.
        arrays = {"a": np.ones((2, 2)), "a.npy": np.full((2, 2), 2.0)}
        np.savez(self.path("x.npz"), **arrays)
        with np.load(self.path("x.npz")) as archive:
            self.assertEqual(archive.files, ["a", "a.npy"])
            np.testing.assert_array_equal(archive["a.npy"], arrays["a"])
        result = self.bnorm("convert", "x.npz", "--tensor", "a.npy", "y.npy")
        self.assertFailsWith(result, 3, "bnorm: error: x.npz: members 'a.npy' and 'a.npy.npy': "
                             "the tensor 'a.npy' (member 'a.npy.npy') has the name of the other "
                             "member, which np.load reads for it")
        self.assertFalse(self.path("y.npy").exists())
        # One tensor named "a.npy" converted from .safetensors is member a.npy.npy alone, which
        # np.load reads as "a.npy" too.
        write_tensors = {"a": ("F32", (2, 3), ARRAY_A.tobytes()),
                         "a.npy": ("F32", (2, 3), ARRAY_B.tobytes())}
        write_safetensors(self.path("x.safetensors"), write_tensors)
        for key, array in (("a.npy", ARRAY_B), ("a", ARRAY_A)):
            with self.subTest(key=key):
                result = self.bnorm("convert", "x.safetensors", "--tensor", key, "y.npz")
                self.assertEqual(result.status, 0, result)
                self.assertEqual(list(numpy_reading(self.path("y.npz"))), [key])
                np.testing.assert_array_equal(numpy_reading(self.path("y.npz"))[key], array)

    def test_member_names_grid_against_numpy(self):
        # Sets of tensor names that np.savez writes as members "<name>.npy", in directory order:
        # np.load (NumPy's NpzFile) is the reference.  bnorm reads tensor K from member K.npy;
        # where np.load reads another array for some key K, bnorm refuses the archive, naming
        # a pair K, K.npy of members for such a K; otherwise it reads every key as np.load.  CI
        # runs every set of up to 3 names; BNORM_LARGE_GRID=1 up to 5, in two orders each.
        names = ["a", "a.npy", "a.npy.npy", "A.npy", "a.np", "d/a", "d/a.npy", "a.npy/x"]
        sizes = range(1, 6) if LARGE else range(1, 4)
        counts = {"refused": 0, "read": 0}
        for size in sizes:
            for chosen in itertools.combinations(names, size):
                for order in (chosen, chosen[::-1]) if LARGE else (chosen[size // 2:] +
                                                                   chosen[:size // 2],):
                    arrays = {name: np.full((2, 2), float(i)) for i, name in enumerate(order)}
                    np.savez(self.path("g.npz"), **arrays)
                    numpy = numpy_reading(self.path("g.npz"))
                    disagreeing = [key for key in arrays
                                   if not np.array_equal(numpy[key], arrays[key])]
                    with self.subTest(order=order):
                        if disagreeing:
                            result = self.bnorm("convert", "g.npz", "--tensor", order[0], "y.npy")
                            self.assertFailsWith(result, 3, "bnorm: error: g.npz: members '")
                            named = result.stderr.split("members ")[1].split(":")[0]
                            self.assertIn(named, [f"'{key}' and '{key}.npy'"
                                                  for key in disagreeing])
                            counts["refused"] += 1
                        else:
                            for key, array in arrays.items():
                                result = self.bnorm("convert", "g.npz", "--tensor", key, "y.npy")
                                self.assertEqual(result.status, 0, result)
                                np.testing.assert_array_equal(np.load(self.path("y.npy")), array)
                            counts["read"] += 1
        self.assertGreater(counts["refused"], 10)
        self.assertGreater(counts["read"], 10)
        if LARGE:
            print(f"\nmember names grid: {counts}")

    def test_flags_and_versions_python_does_not_read(self):
        data = self.patched_names("x.npy", b"x.npy", flags=0x20)
        self.path("x.npz").write_bytes(data)
        self.assertIn("compressed patched data", numpy_reading(self.path("x.npz")))
        self.refused(data, "sets general-purpose flags 0x0020")
        data = bytearray(savez_like([("x.npy", npy(ARRAY_A))]))
        data[data.index(b"PK\x01\x02") + 6] = 64
        self.path("x.npz").write_bytes(bytes(data))
        self.assertIn("zip file version 6.4", numpy_reading(self.path("x.npz")))
        self.refused(bytes(data), "needs ZIP version 6.4")

    def test_what_numpy_writes_is_still_read(self):
        # Every writer bnorm promises to read, including names at the edge of the rules, names
        # that differ only by case (two tensors, as np.load has them), and exactly 65,535
        # members (a 32-bit count of 0xffff without a ZIP64 end record).
        arrays = {"a..b": ARRAY_A, "dir/ü": ARRAY_B, "layer1.0.bn1.running_mean": ARRAY_A,
                  "W": ARRAY_A, "w": ARRAY_B}
        for save in (np.savez, np.savez_compressed):
            with self.subTest(save=save.__name__):
                save(self.path("x.npz"), **arrays)
                for key, array in arrays.items():
                    result = self.bnorm("convert", "x.npz", "--tensor", key, "y.npy")
                    self.assertEqual(result.status, 0, result)
                    np.testing.assert_array_equal(np.load(self.path("y.npy")), array)
        many = {f"t{i}": np.float32(i) for i in range(65535)}
        np.savez(self.path("many.npz"), **many)
        with open(self.path("many.npz"), "rb") as f:
            f.seek(-22, 2)
            self.assertEqual(end_record(f.read(), 0)[1][4], 0xFFFF)
        result = self.bnorm("convert", "many.npz", "--tensor", "t65534", "y.json")
        self.assertEqual(result.status, 0, result)
        self.assertEqual(float(self.path("y.json").read_text()), 65534)

    def test_outputs_never_write_such_names(self):
        # A safetensors key is a tensor name, not a path; written as an .npz member it would be
        # one, and the .npz writer refuses it before writing anything.
        for key, reason in (("../x", "has a '..' segment"), ("/x", "is an absolute path"),
                            ("a\\b", "holds a backslash")):
            with self.subTest(key=key):
                header = ('{"%s": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}}'
                          % key.replace("\\", "\\\\")).encode()
                header += b" " * (-len(header) % 8)
                self.path("x.safetensors").write_bytes(struct.pack("<Q", len(header)) + header +
                                                       ARRAY_A.tobytes())
                result = self.bnorm("convert", "x.safetensors", "y.npz")
                self.assertFailsWith(result, 3, "bnorm: error: y.npz: tensor name", reason)
                self.assertFalse(self.path("y.npz").exists())


if __name__ == "__main__":
    unittest.main()
