# SPDX-License-Identifier: Apache-2.0
"""Reading torch.save's checkpoints: every value bnorm reads equals torch.load's, for every
storage type, rank and view torch writes; hostile checkpoints are refused by name with exit 3,
and nothing in them runs.  BNORM_LARGE_GRID=1 adds ranks, shapes and protocols."""
import io
import os
import pickle
import struct
import subprocess
import sys
import unittest
import zipfile
import zlib

import numpy as np
import torch

from cli_support import ScratchTestCase

LARGE = os.environ.get("BNORM_LARGE_GRID") == "1"

DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int64, torch.int32,
          torch.int16, torch.int8, torch.uint8, torch.bool]
SHAPES = [(), (5,), (3, 4), (2, 3, 4), (2, 3, 2, 3)]
if LARGE:
    SHAPES += [(1,), (7, 1), (1, 5, 1), (4, 1, 3, 2), (2, 2, 2, 2, 2)]


def values(dtype, shape, generator):
    if dtype == torch.bool:
        return torch.rand(shape, generator=generator) > 0.5
    if dtype == torch.uint8:
        return torch.randint(0, 256, shape, generator=generator).to(dtype)
    if not dtype.is_floating_point:
        return torch.randint(-128, 128, shape, generator=generator).to(dtype)
    return torch.randn(shape, generator=generator).to(dtype)


def views(dtype, shape, generator):
    """{name: tensor} of every layout torch saves for `shape`: contiguous, transposed, sliced
    with a step, expanded, offset into a storage, and two of these sharing one storage."""
    rank = len(shape)
    out = {"contiguous": values(dtype, shape, generator)}
    if rank == 0:
        base = values(dtype, (4,), generator)
        out["offset"] = base[2]
        out["shared_base"] = base
        return out
    out["transposed"] = values(dtype, tuple(reversed(shape)), generator).permute(
        *reversed(range(rank)))
    wide = values(dtype, shape[:-1] + (2 * shape[-1] + 1,), generator)
    out["stepped"] = wide[..., 1::2]
    out["shared_base"] = wide
    one = values(dtype, (1,) + shape[1:], generator)
    out["expanded"] = one.expand(*shape)
    longer = values(dtype, (shape[0] + 2,) + shape[1:], generator)
    out["offset"] = longer[2:]
    if rank >= 3:
        out["middle_transposed"] = values(dtype, (shape[0], shape[2], shape[1]) + shape[3:],
                                          generator).transpose(1, 2)
    return out


def as_float64(tensor):
    return tensor.to(torch.float64).numpy()


class TorchValues(ScratchTestCase):
    def read(self, path, name, expected_dtype=None):
        """The tensor `name` of `path` as bnorm reads it, through convert to .npy (float64)."""
        out = self.path("out.npy")
        args = ["convert", path, out, "--dtype", "float64"]
        if name is not None:
            args += ["--tensor", name]
        result = self.bnorm(*args)
        self.assertEqual(result.status, 0, result)
        return np.load(out)

    def test_every_storage_type_rank_and_view_reads_as_torch_load(self):
        generator = torch.Generator().manual_seed(13)
        for dtype in DTYPES:
            for shape in SHAPES:
                with self.subTest(dtype=str(dtype), shape=shape):
                    tensors = views(dtype, shape, generator)
                    path = self.path("grid.pt")
                    torch.save(tensors, path)
                    loaded = torch.load(path)
                    for name, tensor in loaded.items():
                        got = self.read(path, name)
                        self.assertEqual(got.shape, tuple(tensor.shape), name)
                        np.testing.assert_array_equal(got, as_float64(tensor), err_msg=name)

    def test_checkpoint_shapes_and_protocols(self):
        torch.manual_seed(0)
        bn = torch.nn.BatchNorm2d(3)
        bn.running_mean.normal_()
        bn.running_var.uniform_(0.5, 2)
        state = bn.state_dict()
        wrapped = {
            "bare": state,
            # bytes pickle at protocol 2 as _codecs.encode(str, 'latin1').
            "state_dict": {"epoch": 7, "lr": 0.1, "state_dict": state, "hparams": {"a": [1, 2]},
                           "blob": bytes(range(256)), "seed": 2**70, "none": None},
            "model": {"model": state, "optimizer": {"state": {}, "param_groups": [{"lr": 0.1}]}},
            "model_state_dict": {"model_state_dict": state, "loss": 0.25, "note": "x" * 300},
        }
        for protocol in (2, 3, 4, 5):
            for kind, checkpoint in wrapped.items():
                with self.subTest(protocol=protocol, kind=kind):
                    path = self.path(f"{kind}.pth")
                    torch.save(checkpoint, path, pickle_protocol=protocol)
                    for name, tensor in state.items():
                        np.testing.assert_array_equal(self.read(path, name), as_float64(tensor))

    def test_one_tensor_and_parameters(self):
        path = self.path("one.ckpt")
        tensor = torch.randn(3, 4)
        torch.save(tensor, path)
        np.testing.assert_array_equal(self.read(path, None), as_float64(tensor))
        result = self.bnorm("convert", path, "--tensor", "x", self.path("o.npy"))
        self.assertFailsWith(result, 2, "one.ckpt holds only one")
        # nn.Parameter pickles through _rebuild_parameter.
        path = self.path("params.pt")
        parameter = torch.nn.Parameter(torch.randn(4))
        torch.save({"w": parameter}, path)
        np.testing.assert_array_equal(self.read(path, "w"), as_float64(parameter.detach()))

    def test_a_folder_name_longer_than_the_head_shows(self):
        # torch names the records' folder after the file; the first 64 bytes then show only
        # part of "<folder>/data.pkl", with or without its slash.
        tensor = torch.randn(5)
        for stem in ("a" * 33, "b" * 34, "c" * 40, "long_" * 30, "d" * 200):
            with self.subTest(length=len(stem)):
                path = self.path(stem + ".pt")
                torch.save({"t": tensor}, path)
                np.testing.assert_array_equal(self.read(path, "t"), as_float64(tensor))
                # Told by its bytes alone too, under a name that says nothing.
                bare = self.path(stem[:20])
                bare.write_bytes(path.read_bytes())
                np.testing.assert_array_equal(self.read(bare, "t"), as_float64(tensor))

    def test_read_from_a_pipe(self):
        path = self.path("bn.pt")
        tensor = torch.randn(6)
        torch.save({"t": tensor}, path)
        result = self.bnorm("convert", "-", self.path("o.npy"), "--tensor", "t",
                            "--input-format", "pt", "--dtype", "float64",
                            stdin=path.read_bytes())
        self.assertEqual(result.status, 0, result)
        np.testing.assert_array_equal(np.load(self.path("o.npy")), as_float64(tensor))

    def test_npz_written_to_a_pipe_has_data_descriptors_and_reads(self):
        # np.savez to a stream it cannot seek writes flag 0x08 and a descriptor after each
        # member: bnorm used to refuse these.
        script = ("import sys, numpy as np\n"
                  "np.savez(sys.stdout.buffer, a=np.arange(6.0).reshape(2, 3), "
                  "b=np.array([1, 2], np.int16))\n")
        data = subprocess.run([sys.executable, "-c", script], check=True,
                              capture_output=True).stdout
        self.assertEqual(struct.unpack_from("<H", data, 6)[0] & 0x08, 0x08)
        path = self.path("piped.npz")
        path.write_bytes(data)
        np.testing.assert_array_equal(self.read(path, "a"), np.arange(6.0).reshape(2, 3))
        np.testing.assert_array_equal(self.read(path, "b"), [1, 2])

    def test_a_descriptor_that_disagrees_is_refused(self):
        path = self.path("bn.pt")
        torch.save({"t": torch.randn(4)}, path)
        data = bytearray(path.read_bytes())
        # The first descriptor follows data.pkl: break its CRC-32.
        first = data.index(b"PK\x07\x08")
        data[first + 4] ^= 0xff
        path.write_bytes(bytes(data))
        result = self.bnorm("convert", path, self.path("o.npy"))
        self.assertFailsWith(result, 3, "data descriptor at byte",
                             "disagrees with the central directory's CRC-32 and sizes")


class Payload:
    """Pickles as a call of `function(*args)`: what a malicious checkpoint holds."""

    def __init__(self, function, *args):
        self.function, self.args = function, args

    def __reduce__(self):
        return self.function, self.args


def checkpoint_zip(path, pickle_bytes, records=None, folder="archive"):
    """A torch.save archive by hand: data.pkl, the given data records, version."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr(f"{folder}/data.pkl", pickle_bytes)
        for name, content in (records or {}).items():
            z.writestr(f"{folder}/{name}", content)
        z.writestr(f"{folder}/version", b"3\n")


class Hostile(ScratchTestCase):
    def refused(self, path, *phrases):
        result = self.bnorm("convert", path, self.path("out.npy"))
        self.assertFailsWith(result, 3, *phrases)
        self.assertFalse(self.path("out.npy").exists())

    def test_code_in_a_pickle_never_runs(self):
        marker = self.path("pwned")
        payloads = {
            "os.system": Payload(os.system, f"touch {marker}"),
            "builtins.eval": Payload(eval, f"open({str(marker)!r}, 'w')"),
            "subprocess.Popen": Payload(subprocess.Popen, ["touch", str(marker)]),
        }
        for name, payload in payloads.items():
            for wrapper, protocol in [(lambda p: p, 3), (lambda p: {"state_dict": {"w": p}}, 4)]:
                with self.subTest(name=name, protocol=protocol):
                    path = self.path("evil.pt")
                    checkpoint_zip(path, pickle.dumps(wrapper(payload), protocol=protocol))
                    module = payload.function.__module__
                    self.refused(path, f"data.pkl: GLOBAL '{module}.{payload.function.__name__}' at byte",
                                 "is not a value a tensor checkpoint holds; bnorm runs no code")
                    self.assertFalse(marker.exists())
        # The same payload as torch.save writes it, with tensors around it.
        path = self.path("evil_torch.pt")
        torch.save({"w": torch.randn(3), "evil": payloads["os.system"]}, path)
        self.refused(path, "GLOBAL 'posix.system'")
        self.assertFalse(marker.exists())

    def hand_built(self, body, records=None):
        path = self.path("hand.pt")
        checkpoint_zip(path, b"\x80\x02" + body + b".", records)
        return path

    def test_malformed_pickles(self):
        storage = (b"ctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storage"
                   b"ctorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x03tQ")
        hooks = b"ccollections\nOrderedDict\n)R"
        record = {"data/0": struct.pack("<3f", 1, 2, 3)}
        cases = [
            (b"h\x07", None, "memo index 7 was never stored at byte 2"),
            (b"0", None, "stack underflow at byte 2"),
            (b"(" * 5000, None, "MARKs nest more than 4096 deep"),
            (b"]" * 4200 + b"a" * 4199, None, "containers nest more than 4096 deep"),
            # REDUCE of an allowed function with wrong arguments.
            (storage + b"K\x00(K\x03t(K\x01t\x89tR", record,
             "REDUCE of torch._utils._rebuild_tensor_v2 with 5 arguments: it takes 6 or 7"),
            (storage + b"X\x01\x00\x00\x00a(K\x03t(K\x01t\x89" + hooks + b"tR", record,
             "its storage offset is not a non-negative int"),
            (b"ccollections\nOrderedDict\nK\x01\x85R", None,
             "REDUCE of collections.OrderedDict with 1 argument"),
            # BUILD into a non-dict, SETITEM into a non-dict (CVE-2026-24747).
            (b"](K\x01tb", None, "BUILD into a list: only an OrderedDict or a tensor"),
            (b"]X\x01\x00\x00\x00kK\x01s", None, "SETITEM into a list"),
            (b"N.", None, "STOP is followed by 1 byte"),
        ]
        for body, records, phrase in cases:
            with self.subTest(phrase=phrase):
                self.refused(self.hand_built(body, records), "data.pkl: ", phrase)

    def test_storages_that_do_not_fit_their_records(self):
        def saved(tensor, mutate):
            buffer = io.BytesIO()
            torch.save({"t": tensor}, buffer)
            with zipfile.ZipFile(buffer) as z:
                records = {n.split("/", 1)[1]: z.read(n) for n in z.namelist()}
            records = mutate(records)
            path = self.path("mutated.pt")
            pkl = records.pop("data.pkl")
            records.pop("version", None)
            checkpoint_zip(path, pkl, records)
            return path

        # A record shorter and longer than numel x itemsize.
        self.refused(saved(torch.randn(4), lambda r: {**r, "data/0": r["data/0"][:12]}),
                     "record 'archive/data/0' holds 12 bytes, not the 4 x 4 of its FloatStorage")
        self.refused(saved(torch.randn(4), lambda r: {**r, "data/0": r["data/0"] + b"\0" * 4}),
                     "holds 20 bytes, not the 4 x 4")
        # A view past its storage: the offset in the pickle raised past the record.
        def offset_past(records):
            pkl = records["data.pkl"]
            at = pkl.index(b"QK\x00") + 1  # after the persistent id: BININT1 offset
            self.assertEqual(pkl[at:at + 2], b"K\x00")
            records["data.pkl"] = pkl[:at] + b"K\x03" + pkl[at + 2:]
            return records
        self.refused(saved(torch.randn(4), offset_past),
                     "a tensor reaches element 6 of storage '0', which holds 4")
        # A storage whose record is missing.
        self.refused(saved(torch.randn(4), lambda r: {"data.pkl": r["data.pkl"]}),
                     "storage '0' has no record 'archive/data/0'")

    def test_archives_torch_save_does_not_write(self):
        tensor_pickle = io.BytesIO()
        torch.save({"t": torch.randn(2)}, tensor_pickle)
        with zipfile.ZipFile(tensor_pickle) as z:
            records = {n: z.read(n) for n in z.namelist()}
        path = self.path("two.pt")
        with zipfile.ZipFile(path, "w") as z:
            for name, content in records.items():
                z.writestr(name, content)
            z.writestr("other/data.pkl", records["archive/data.pkl"])
        self.refused(path, "records under two folders, 'archive' and 'other' (two data.pkl records)")

        # TorchScript, the legacy format and a whole pickled module: each says what to do.
        path = self.path("script.pt")
        torch.jit.save(torch.jit.script(torch.nn.BatchNorm2d(3)), path)
        self.refused(path, "a TorchScript archive (torch.jit.save); bnorm reads what torch.save "
                           "writes: save model.state_dict() with torch.save")
        path = self.path("legacy.pt")
        torch.save(torch.nn.BatchNorm2d(3).state_dict(), path, _use_new_zipfile_serialization=False)
        self.refused(path, "a checkpoint in torch's legacy format (torch.save before 1.6)",
                     "save it again with torch >= 1.6")
        path = self.path("module.pt")
        torch.save(torch.nn.BatchNorm2d(3), path)
        self.refused(path, "GLOBAL 'torch.nn.modules.batchnorm.BatchNorm2d' at byte",
                     "a whole pickled module (torch.save(model)); bnorm reads tensors, not "
                     "modules: save model.state_dict() with torch.save instead")

    def test_a_deflated_data_pkl_is_refused(self):
        # 2 MB of pickle (a list of 2 million None) deflated into a file of 6 KB: torch.load reads
        # it; bnorm built half a GB of values from it.
        body = b"}X\x01\x00\x00\x00w]" + (b"(" + b"N" * 1000 + b"e") * 2000 + b"s"
        path = self.path("deflated.pt")
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("archive/data.pkl", b"\x80\x02" + body + b".",
                       compress_type=zipfile.ZIP_DEFLATED)
            z.writestr("archive/version", b"3\n")
        self.assertLess(path.stat().st_size, 10_000)
        self.assertEqual(len(torch.load(path)["w"]), 2_000_000)
        self.refused(path, "record 'archive/data.pkl' is compressed; torch.save stores it")

    def test_a_tensor_name_with_a_lone_surrogate_is_refused(self):
        # torch.load reads it; the JSON of `layers` failed with nlohmann's message (exit 4).
        path = self.path("surrogate.pt")
        torch.save({"\ud800bn." + k: v for k, v in torch.nn.BatchNorm1d(2).state_dict().items()},
                   path)
        self.assertIn("\ud800bn.running_var", torch.load(path))
        for command in (["layers", path, "--format", "json"],
                        ["convert", path, self.path("out.npy"),
                         "--tensor", "\udced\udca0\udc80bn.weight"]):
            with self.subTest(command=command[0]):
                self.assertFailsWith(self.bnorm(*command), 3, "surrogate.pt: the tensor name "
                                     "'\\xed\\xa0\\x80bn.weight' holds a lone surrogate")

    def test_a_pt_name_with_npz_bytes_and_the_other_way(self):
        npz = self.path("real.pt")
        np.savez(npz.with_suffix(".npz"), a=np.zeros(2))
        npz.write_bytes(npz.with_suffix(".npz").read_bytes())
        self.refused(npz, "named as a .pt file, but its first bytes are those of an .npz file")
        pt = self.path("real.npz")
        torch.save({"a": torch.zeros(2)}, self.path("x.pt"))
        pt.write_bytes(self.path("x.pt").read_bytes())
        self.refused(pt, "named as an .npz file, but its first bytes are those of a .pt file")


def npz_with_descriptors(arrays, signature=True, zip64=False, junk=b"", local_sizes=(0, 0)):
    """An .npz whose members have data descriptors (flag 0x08), laid out by hand: with or without
    the descriptor's signature, 4- or 8-byte sizes (a ZIP64 local extra field), `junk` after
    the first member's descriptor, and the local header's sizes as given (0 as a stream
    writes them)."""
    body, directory = b"", b""
    for index, (name, array) in enumerate(arrays.items()):
        buffer = io.BytesIO()
        np.lib.format.write_array(buffer, array)
        data = buffer.getvalue()
        crc = zlib.crc32(data)
        member = (name + ".npy").encode()
        extra = struct.pack("<HHQQ", 1, 16, 0, 0) if zip64 else b""
        local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 45 if zip64 else 20, 0x08, 0, 0, 0x21, 0,
                            local_sizes[0], local_sizes[1], len(member), len(extra))
        sizes = struct.pack("<QQ" if zip64 else "<II", len(data), len(data))
        descriptor = (b"PK\x07\x08" if signature else b"") + struct.pack("<I", crc) + sizes
        offset = len(body)
        body += local + member + extra + data + descriptor + (junk if index == 0 else b"")
        directory += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 0x031E, 45 if zip64 else 20,
                                 0x08, 0, 0, 0x21, crc, len(data), len(data), len(member), 0, 0,
                                 0, 0, 0o600 << 16, offset) + member
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(arrays), len(arrays), len(directory),
                      len(body), 0)
    return body + directory + end


class DataDescriptors(ScratchTestCase):
    """Data descriptors as streams write them are read from the central directory, checked
    against it, and their bytes belong to their member; anything else is refused."""

    arrays = {"a": np.arange(6.0).reshape(2, 3), "b": np.array([7, 8], np.int16)}

    def convert(self, data):
        path = self.path("d.npz")
        path.write_bytes(data)
        return self.bnorm("convert", path, "--tensor", "a", self.path("a.npy"))

    def test_every_layout_a_writer_uses_reads(self):
        for signature in (True, False):
            for zip64 in (False, True):
                with self.subTest(signature=signature, zip64=zip64):
                    data = npz_with_descriptors(self.arrays, signature, zip64)
                    with zipfile.ZipFile(io.BytesIO(data)) as z:  # Python reads it too
                        self.assertIsNone(z.testzip())
                    result = self.convert(data)
                    self.assertEqual(result.status, 0, result)
                    np.testing.assert_array_equal(np.load(self.path("a.npy")), self.arrays["a"])

    def test_a_descriptor_that_does_not_fit_is_refused(self):
        cases = [
            (dict(junk=b"\0\0\0\0"), "4 bytes at byte", "belong to no member"),
            (dict(local_sizes=(5, 5)), "sizes 5/5 differ from the central directory's"),
        ]
        for options, *phrases in cases:
            with self.subTest(options=options):
                self.assertFailsWith(self.convert(npz_with_descriptors(self.arrays, **options)), 3,
                                     *phrases)
        data = bytearray(npz_with_descriptors(self.arrays))
        first = data.index(b"PK\x07\x08")
        data[first + 8] ^= 1  # the descriptor's compressed size
        self.assertFailsWith(self.convert(bytes(data)), 3, "data descriptor at byte",
                             "disagrees with the central directory's CRC-32 and sizes")


if __name__ == "__main__":
    unittest.main()
