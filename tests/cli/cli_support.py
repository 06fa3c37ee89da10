# SPDX-License-Identifier: Apache-2.0
"""What every command-line test needs: the binary under test, scratch folders, and a runner
that captures the exit status and both streams."""
import hashlib
import json
import os
import pathlib
import shutil
import struct
import subprocess
import tempfile
import unittest

BNORM = os.environ.get("BNORM", "bnorm")
SOURCE_DIR = pathlib.Path(os.environ.get("BNORM_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[2]))
SAMPLES = SOURCE_DIR / "samples"


class Result:
    def __init__(self, completed):
        self.status = completed.returncode
        self.stdout = completed.stdout
        self.stderr = completed.stderr.decode("utf-8", "replace")

    def __repr__(self):
        return f"status {self.status}, stderr {self.stderr!r}"


def run(args, cwd=None, stdin=None, timeout=60):
    """Runs bnorm with `args` (strings); `stdin` is bytes or None."""
    completed = subprocess.run([BNORM, *args], cwd=cwd, input=stdin, capture_output=True,
                               timeout=timeout)
    return Result(completed)


def digest(path):
    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()


class ScratchTestCase(unittest.TestCase):
    """A test with its own folder holding a copy of samples/."""

    def setUp(self):
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="bnorm-test-"))
        shutil.copytree(SAMPLES, self.dir / "samples")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, name):
        return self.dir / name

    def bnorm(self, *args, stdin=None):
        return run([str(a) for a in args], cwd=self.dir, stdin=stdin)

    def assertFailsWith(self, result, status, *phrases):
        """One line on stderr, `bnorm: error: ` first, every phrase in it, nothing on stdout."""
        self.assertEqual(result.status, status, result)
        lines = result.stderr.splitlines()
        self.assertEqual(len(lines), 1, result.stderr)
        self.assertTrue(lines[0].startswith("bnorm: error: "), lines[0])
        for phrase in phrases:
            self.assertIn(phrase, lines[0])
        self.assertEqual(result.stdout, b"")

    def assertNoStrayFiles(self, *expected):
        """Only `expected` (and samples/) are in the scratch folder: no output, no temporary."""
        names = sorted(p.name for p in self.dir.iterdir() if p.name != "samples")
        self.assertEqual(names, sorted(expected))


def write_safetensors(path, tensors, metadata=None):
    """Writes a .safetensors file by hand, as the format's specification lays it out (no
    library in between): `tensors` is {name: (dtype name, shape, raw bytes)} or a list of
    (name, dtype name, shape, raw bytes), laid out in the given order."""
    items = tensors.items() if isinstance(tensors, dict) else [(t[0], t[1:]) for t in tensors]
    header, data = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, (dtype, shape, raw) in items:
        header[name] = {"dtype": dtype, "shape": list(shape),
                        "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    pathlib.Path(path).write_bytes(struct.pack("<Q", len(text)) + text + data)
