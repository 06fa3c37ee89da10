#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Every seed of the fuzz corpus (tests/fuzz/corpus/: valid files and every malformed case of
issue #3) through the command line, with the process limited to 256 MiB of address space:
valid seeds are normalized, every other one is refused with exit 3 and one line on stderr,
before anything its header claims is allocated, leaving no output and the input untouched."""
import os
import resource
import subprocess
import unittest

import numpy as np

from cli_support import BNORM, SOURCE_DIR, Result, ScratchTestCase, digest

CORPUS = SOURCE_DIR / "tests" / "fuzz" / "corpus"
MEMORY_LIMIT = 256 << 20


def limit_memory():
    # A sanitized build reserves terabytes of shadow address space: there the limit cannot be
    # applied, and the Release run of this test is the one that checks memory.
    if os.environ.get("BNORM_SANITIZED") != "1":
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


class HostileInputs(ScratchTestCase):
    def bnorm_limited(self, *args, stdin=None):
        completed = subprocess.run([BNORM, *map(str, args)], cwd=self.dir, input=stdin,
                                   capture_output=True, timeout=60, preexec_fn=limit_memory)
        return Result(completed)

    def check(self, seed, result, name):
        produced = [p.name for p in self.dir.iterdir()
                    if p.name in ("y.npy", "s.json", "y.safetensors", "s.npz")]
        temporaries = [p.name for p in self.dir.iterdir() if p.name.startswith(".")]
        for p in produced:
            self.path(p).unlink()  # so that one failure does not cascade into the next seed
        self.assertEqual(temporaries, [])
        if seed.name.startswith("valid"):
            self.assertEqual(result.status, 0, result)
        else:
            self.assertFailsWith(result, 3, f"bnorm: error: {name}: ")
            self.assertEqual(produced, [])

    def test_npy_files(self):
        for seed in sorted((CORPUS / "npy").iterdir()):
            with self.subTest(seed=seed.name):
                self.path("x.npy").write_bytes(seed.read_bytes())
                result = self.bnorm_limited("apply", "x.npy", "-o", "y.npy", "--stats-out", "s.json")
                self.check(seed, result, "x.npy")
                self.assertEqual(digest(self.path("x.npy")), digest(seed))

    def test_npy_on_standard_input(self):
        for seed in sorted((CORPUS / "npy").iterdir()):
            with self.subTest(seed=seed.name):
                result = self.bnorm_limited("apply", "-", "--input-format", "npy", "-o", "y.npy",
                                            stdin=seed.read_bytes())
                self.check(seed, result, "<stdin>")

    def test_json_tensors(self):
        for seed in sorted((CORPUS / "json_tensor").iterdir()):
            with self.subTest(seed=seed.name):
                self.path("x.json").write_bytes(seed.read_bytes())
                result = self.bnorm_limited("apply", "x.json", "-o", "y.npy")
                self.check(seed, result, "x.json")

    def test_state_files(self):
        np.save(self.path("x.npy"), np.random.default_rng(0).normal(size=(4, 2)).astype(np.float32))
        for seed in sorted((CORPUS / "state").iterdir()):
            with self.subTest(seed=seed.name):
                self.path("state.json").write_bytes(seed.read_bytes())
                result = self.bnorm_limited("apply", "x.npy", "-o", "y.npy", "--state", "state.json",
                                            "--stats-out", "s.json")
                self.check(seed, result, "state.json")
                self.assertEqual(digest(self.path("state.json")), digest(seed))

    def container_seeds(self, folder):
        """Each seed of tests/fuzz/corpus/<folder> with the flags it needs: the valid files
        holding several tensors name the one to normalize."""
        for seed in sorted((CORPUS / folder).iterdir()):
            yield seed, (["--tensor", "x"] if seed.name.startswith("valid-multi") else [])

    def test_npz_and_safetensors_files(self):
        for folder, suffix in (("npz", ".npz"), ("safetensors", ".safetensors")):
            for seed, flags in self.container_seeds(folder):
                with self.subTest(seed=f"{folder}/{seed.name}"):
                    name = "x" + suffix
                    self.path(name).write_bytes(seed.read_bytes())
                    result = self.bnorm_limited("apply", name, *flags, "-o", "y.safetensors",
                                                "--stats-out", "s.npz")
                    self.check(seed, result, name)
                    self.assertEqual(digest(self.path(name)), digest(seed))
                    self.path(name).unlink()

    def test_npz_and_safetensors_on_standard_input(self):
        for folder in ("npz", "safetensors"):
            for seed, flags in self.container_seeds(folder):
                with self.subTest(seed=f"{folder}/{seed.name}"):
                    result = self.bnorm_limited("apply", "-", "--input-format", folder, *flags,
                                                "-o", "y.npy", stdin=seed.read_bytes())
                    self.check(seed, result, "<stdin>")

    def test_npz_and_safetensors_as_state(self):
        np.save(self.path("x.npy"), np.random.default_rng(0).normal(size=(4, 2)).astype(np.float32))
        for folder, suffix in (("npz", ".npz"), ("safetensors", ".safetensors")):
            for seed in sorted((CORPUS / folder).iterdir()):
                if seed.name.startswith("valid"):
                    continue  # valid tensors, but not states of a 2-channel layer
                with self.subTest(seed=f"{folder}/{seed.name}"):
                    name = "state" + suffix
                    self.path(name).write_bytes(seed.read_bytes())
                    result = self.bnorm_limited("apply", "x.npy", "-o", "y.npy", "--state", name,
                                                "--stats-out", "s.json")
                    self.check(seed, result, name)
                    self.assertEqual(digest(self.path(name)), digest(seed))
                    self.path(name).unlink()


if __name__ == "__main__":
    unittest.main()
