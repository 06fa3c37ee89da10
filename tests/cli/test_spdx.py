#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Every source file in git carries bnorm's licence line, `SPDX-License-Identifier:
Apache-2.0`, as its first line (after a shebang): `//` for C++ and its templates, `#` for
Python, shell, CMake and pkg-config.  A file of a kind this test does not know fails until it
is named here, as a source or as data, so that a new kind of file cannot slip by unlicensed."""
import pathlib
import shutil
import subprocess
import tempfile
import unittest

from cli_support import SOURCE_DIR

LINE = "SPDX-License-Identifier: Apache-2.0"
SLASH_SUFFIXES = {".cpp", ".hpp", ".h", ".cc", ".inc", ".proto"}
HASH_SUFFIXES = {".py", ".sh", ".cmake", ".pc", ".map"}  # .map: a linker version script
# A case folder's `setup` is sh without a shebang (tests/cases/README.md).
HASH_NAMES = {"CMakeLists.txt", "setup"}
# Data, documentation and configuration: no comment syntax, or not code.
DATA_SUFFIXES = {".md", ".json", ".npy", ".npz", ".safetensors", ".pt", ".onnx", ".svg",
                 ".exact", ".glob", ".exit", ".csv", ".tsv"}
DATA_NAMES = {"LICENSE", ".gitignore", ".clang-format"}
# The fuzzers' seeds are inputs byte for byte; Debian's copyright file (DEP-5) and changelog
# have formats of their own, without comment lines.
DATA_PATHS = ("tests/fuzz/corpus/", "packaging/copyright", "packaging/changelog")


def kind(path, head):
    """'//' or '#' for a source file `path` (relative, with its first bytes `head`), None for
    data, '?' for a file of a kind not listed above."""
    path = pathlib.PurePosixPath(path)
    if head.startswith(b"#!"):
        return "#"
    if str(path).startswith(DATA_PATHS) or path.name in DATA_NAMES:
        return None
    name = path.name[:-3] if path.name.endswith(".in") else path.name  # a template: its output's
    suffix = pathlib.PurePosixPath(name).suffix
    if suffix in SLASH_SUFFIXES:
        return "//"
    if suffix in HASH_SUFFIXES or name in HASH_NAMES:
        return "#"
    if suffix in DATA_SUFFIXES:
        return None
    return "?"


def unlicensed(root, paths):
    """The files of `paths` (relative to `root`) that lack the line where their kind puts it,
    each with what is wrong."""
    faults = []
    for relative in paths:
        data = (root / relative).read_bytes()
        comment = kind(relative, data[:2])
        if comment is None:
            continue
        if comment == "?":
            faults.append(f"{relative}: a kind of file test_spdx.py does not know (name it)")
            continue
        lines = data.decode("utf-8", "replace").splitlines()
        at = 1 if data.startswith(b"#!") else 0
        if len(lines) <= at or lines[at] != f"{comment} {LINE}":
            where = "after the shebang" if at else "first"
            faults.append(f"{relative}: no '{comment} {LINE}' line {where}")
    return faults


def tracked_files(root):
    listed = subprocess.run(["git", "-C", str(root), "ls-files", "-z"], capture_output=True,
                            check=True).stdout
    return [p for p in listed.decode().split("\0") if p and (root / p).is_file()]


class Checker(unittest.TestCase):
    """The checker itself finds what is missing, on files made here."""

    def test_finds_a_missing_or_misplaced_line(self):
        root = pathlib.Path(tempfile.mkdtemp(prefix="bnorm-spdx-"))
        self.addCleanup(shutil.rmtree, root, ignore_errors=True)
        files = {
            "good.cpp": f"// {LINE}\nint x;\n",
            "good.sh": f"#!/bin/sh\n# {LINE}\ntrue\n",
            "good.hpp.in": f"// {LINE}\n",
            "good.pc.in": f"# {LINE}\n",
            "cases/setup": f"# {LINE}\nprintf x\n",
            "CMakeLists.txt": f"# {LINE}\n",
            "data.json": "{}",
            "new.cpp": "int y;\n",
            "second.hpp": f"#pragma once\n// {LINE}\n",
            "wrong.py": f"// {LINE}\n",
            "late.py": f"import os\n# {LINE}\n",
            "tool": f"#!/usr/bin/env bash\necho\n# {LINE}\n",
            "other.pc": "prefix=/usr\n",
            "empty.cmake": "",
            "notes.rst": "text\n",
        }
        for name, text in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text)
        faults = unlicensed(root, sorted(files))
        self.assertEqual(sorted(f.split(":")[0] for f in faults),
                         sorted(["new.cpp", "second.hpp", "wrong.py", "late.py", "tool",
                                 "other.pc", "empty.cmake", "notes.rst"]))
        self.assertIn("after the shebang", [f for f in faults if f.startswith("tool")][0])
        self.assertIn("does not know", [f for f in faults if f.startswith("notes")][0])


@unittest.skipUnless((SOURCE_DIR / ".git").exists() and shutil.which("git"),
                     "needs a git checkout of bnorm")
class Repository(unittest.TestCase):
    def test_every_source_file_carries_the_licence_line(self):
        paths = tracked_files(SOURCE_DIR)
        self.assertGreater(len(paths), 500)
        sources = [p for p in paths if kind(p, (SOURCE_DIR / p).read_bytes()[:2]) in ("//", "#")]
        self.assertGreater(len(sources), 500)
        self.assertEqual(unlicensed(SOURCE_DIR, paths), [])


if __name__ == "__main__":
    unittest.main()
