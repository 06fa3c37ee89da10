#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Writes torch_save_goldens.inc, the bytes test_pickle_dump.cpp and test_torch_save.cpp compare
bnorm's writers with: pickles from Python's own pickler (the C one, _pickle, which torch.save
uses) and whole archives from torch.save (Debian's python3-torch 1.13).  Each archive is saved
to a path whose base name is the folder bnorm's writer is given, so the bytes are the same.

Run: /usr/bin/python3 tests/unit/make_torch_save_goldens.py > tests/unit/torch_save_goldens.inc
"""
import collections
import io
import os
import pickle
import sys
import tempfile
import zipfile

import torch


def values():
    """The values every tensor case is built from, also computed by the unit test: i/2 - 3."""
    return lambda n: [i / 2 - 3 for i in range(n)]


def pickles():
    shared_text = "shared"
    shared_tuple = (shared_text, 7)
    many = [f"s{i}" for i in range(300)]  # memo indices past 255: LONG_BINPUT, LONG_BINGET
    inner = []
    recursive = (inner,)  # a tuple reached again through a list inside it: POP, then BINGET
    inner.append(recursive)
    inner4 = []
    recursive4 = (inner4, 1, 2, 3)  # the same with MARK ... TUPLE: POP_MARK
    inner4.append(recursive4)
    od = collections.OrderedDict([("a", 1), ("b", None)])
    od._metadata = {"": {"version": 2}}
    return {
        "ints": [0, 1, 255, 256, 65535, 65536, -1, -256, -(2**31), 2**31 - 1, 2**31,
                 -(2**31) - 1, 2**40, -(2**39), -(2**39) - 1, 2**63 - 1, -(2**63)],
        "atoms": [1.5, -0.0, None, True, False, "é", "", ()],
        "shared": [shared_text, shared_text, shared_tuple, shared_tuple,
                   (1, 2, 3, 4), [shared_text], {}],
        "dict_1000": {i: None for i in range(1000)},
        "dict_1001": {i: None for i in range(1001)},
        "list_1000": [None] * 1000,
        "list_1001": [None] * 1001,
        "ordered_dict_state": od,
        "ordered_dict_one": collections.OrderedDict([("x", True)]),
        "ordered_dict_1001": collections.OrderedDict((str(i), i) for i in range(1001)),
        "bytes": [b"ab", b"", b"x" * 300],
        "big_integers": [2**64, -(2**64), 2**2100],
        "long_memo": many + many,
        "recursive_tuple": recursive,
        "recursive_tuple4": recursive4,
    }


def archives(folder):
    v = values()

    def tensor(shape, dtype):
        n = 1
        for d in shape:
            n *= d
        return torch.tensor(v(n), dtype=torch.float64).to(dtype).reshape(shape)

    # BatchNorm-like state: four float32 (3,) and an int64 scalar.
    state = collections.OrderedDict([
        ("bn1.weight", tensor((3,), torch.float32)),
        ("bn1.bias", tensor((3,), torch.float32)),
        ("bn1.running_mean", tensor((3,), torch.float32)),
        ("bn1.running_var", tensor((3,), torch.float32)),
        ("bn1.num_batches_tracked", torch.tensor(7, dtype=torch.int64)),
    ])
    # Twelve tensors, so that the records' order ("10" before "2") shows; every dtype and
    # shape the writer takes, an empty one, a scalar and a Fortran-ordered one.
    mixed = collections.OrderedDict()
    kinds = [((2, 3), torch.float32), ((), torch.float64), ((0,), torch.float32),
             ((2, 0, 3), torch.float16), ((4,), torch.bfloat16), ((1, 2, 1, 2, 1), torch.float64),
             ((5,), torch.float16), ((3, 1), torch.bfloat16), ((2,), torch.float32),
             ((), torch.int64), ((3,), torch.int64)]
    for i, (shape, dtype) in enumerate(kinds):
        mixed[f"t{i}"] = tensor(shape, dtype)
    mixed["fortran"] = tensor((3, 2), torch.float32).t()  # shape (2, 3), strides (1, 2)
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, obj in [("state", state), ("mixed", mixed),
                          ("single", tensor((2, 3), torch.float32)),
                          ("named", {"x": tensor((4,), torch.float64)})]:
            path = os.path.join(tmp, folder + ".pt")
            torch.save(obj, path)
            with open(path, "rb") as f:
                out[name] = f.read()
            # The pickle alone too, which names no folder.
            out[name + "_pkl"] = zipfile.ZipFile(path).read(folder + "/data.pkl")
    # A checkpoint around a state_dict (with _metadata), saved, then loaded, updated as
    # update_torch_set is asked to (running_mean as float64, running_var as float32, a tensor
    # added) and saved again; and one with a view of running_mean elsewhere in it (not at the
    # root, whose tensors would make it the state_dict).
    bn = torch.nn.BatchNorm2d(3)
    bn.running_mean.copy_(tensor((3,), torch.float32))
    with torch.no_grad():
        bn.weight.copy_(tensor((3,), torch.float32) * 2)
    optimizer = torch.optim.SGD(bn.parameters(), lr=0.1, momentum=0.9)
    bn(torch.arange(24.0).reshape(2, 3, 2, 2)).sum().backward()
    optimizer.step()
    checkpoint = {"epoch": 3, "optimizer": optimizer.state_dict(), "note": "kept", "big": 2**40,
                  "state_dict": bn.state_dict()}
    with_view = dict(checkpoint, extras={"view": checkpoint["state_dict"]["running_mean"][1:]})
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, folder + ".pt")
        for name, obj in [("checkpoint", checkpoint), ("checkpoint_view", with_view)]:
            torch.save(obj, path)
            with open(path, "rb") as f:
                out[name] = f.read()
        torch.save(checkpoint, path)
        updated = torch.load(path)  # the file above, trusted: its floats are refused otherwise
        updated["state_dict"]["running_mean"] = tensor((3,), torch.float64)
        updated["state_dict"]["running_var"] = tensor((3,), torch.float32)
        updated["state_dict"]["extra"] = tensor((2,), torch.float16)
        torch.save(updated, path)
        with open(path, "rb") as f:
            out["checkpoint_updated"] = f.read()
    # Storages shared between tensors, a view at an offset, one tensor twice, parameters.
    a = torch.arange(4.0)
    p = torch.nn.Parameter(torch.ones(2))
    q = torch.nn.Parameter(torch.ones(2), requires_grad=False)
    for name, obj in [("shared_storage", collections.OrderedDict([("x", a), ("y", a[1:3]), ("z", a)])),
                      ("parameters", {"p": p, "q": q, "p2": p})]:
        buffer = io.BytesIO()
        torch.save(obj, buffer)
        out[name + "_pkl"] = zipfile.ZipFile(buffer).read("archive/data.pkl")
    return out


def main():
    print("// SPDX-License-Identifier: Apache-2.0")
    print("// Generated by tests/unit/make_torch_save_goldens.py from Python's pickle and torch.save")
    print(f"// (torch {torch.__version__}); do not edit.")
    print("#pragma once\n#include <string_view>\n\nnamespace torch_save_goldens {")
    for name, obj in pickles().items():
        protocol = 3 if name == "bytes" else 2  # protocol 2 pickles bytes by calling codecs
        print(f'inline constexpr std::string_view pickle_{name} = "{pickle.dumps(obj, protocol=protocol).hex()}";')
    for name, data in archives("bn").items():
        print(f'inline constexpr std::string_view archive_{name} = "{data.hex()}";')
    print("}  // namespace torch_save_goldens")


if __name__ == "__main__":
    sys.exit(main())
