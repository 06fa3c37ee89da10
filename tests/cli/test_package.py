#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Installation and the Debian package: `cmake --install` puts every file where a tool's
files go, and `cpack -G DEB` builds a package whose Depends dpkg-shlibdeps computed, which runs
from a scratch root (`dpkg -x`, no installation on this machine)."""
import gzip
import os
import pathlib
import re
import shutil
import subprocess
import unittest

from cli_support import BNORM, SOURCE_DIR, ScratchTestCase, digest

BUILD_DIR = pathlib.Path(os.environ.get("BNORM_BUILD_DIR", pathlib.Path(BNORM).resolve().parent))
VERSION = re.search(r"project\(bnorm VERSION ([\d.]+)",
                    (SOURCE_DIR / "CMakeLists.txt").read_text()).group(1)
FILES = ["bin/bnorm", "share/man/man1/bnorm.1.gz", "share/bash-completion/completions/bnorm",
         "share/zsh/vendor-completions/_bnorm"]


def check_call(*args, **kwargs):
    completed = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kwargs)
    if completed.returncode != 0:
        raise AssertionError(f"{args}: status {completed.returncode}: {completed.stderr}")
    return completed.stdout


class Installed(ScratchTestCase):
    """What an installed tree holds and that it works, for `cmake --install` and the .deb."""

    def check_tree(self, prefix):
        for name in FILES:
            self.assertTrue((prefix / name).is_file(), name)
        # The binary runs from there and names its version.
        self.assertEqual(check_call(prefix / "bin/bnorm", "--version").splitlines()[0],
                         f"bnorm {VERSION}")
        # It normalizes as the build tree's binary does, byte for byte.
        check_call(prefix / "bin/bnorm", "apply", "samples/batch.npy", "-o", "installed.npy",
                   cwd=self.dir)
        check_call(BNORM, "apply", "samples/batch.npy", "-o", "built.npy", cwd=self.dir)
        self.assertEqual(digest(self.path("installed.npy")), digest(self.path("built.npy")))
        # The man page is the generated one, compressed reproducibly (no name, no time).
        page = prefix / "share/man/man1/bnorm.1.gz"
        self.assertEqual(gzip.decompress(page.read_bytes()),
                         (BUILD_DIR / "docs" / "bnorm.1").read_bytes())
        self.assertEqual(page.read_bytes()[4:8], b"\0\0\0\0")  # gzip's MTIME field
        if shutil.which("man"):
            shown = check_call("man", "-l", page, env=dict(os.environ, MANPAGER="cat"))
            self.assertIn("bnorm apply", shown)
        # bash finds the completion function in the file.
        registered = check_call("bash", "--norc", "-c",
                                f'source "{prefix}/share/bash-completion/completions/bnorm"; '
                                "complete -p bnorm")
        self.assertEqual(registered.strip(), "complete -F _bnorm bnorm")

    def test_cmake_install(self):
        prefix = self.dir / "prefix"
        check_call("cmake", "--install", BUILD_DIR, "--prefix", prefix)
        self.check_tree(prefix)
        installed = sorted(str(p.relative_to(prefix)) for p in prefix.rglob("*") if p.is_file())
        # The library's files (COMPONENT development) are cli/test_library's to check.
        installed = [name for name in installed if not name.startswith(("include/bnorm/", "lib/"))]
        self.assertEqual(installed, sorted(FILES))  # and nothing else: no tests

    @unittest.skipUnless(shutil.which("cpack") and shutil.which("dpkg-deb") and
                         shutil.which("dpkg-shlibdeps"), "needs cpack and dpkg-dev")
    def test_debian_package(self):
        out = self.dir / "package"
        check_call("cpack", "-G", "DEB", "--config", BUILD_DIR / "CPackConfig.cmake", "-B", out)
        debs = list(out.glob("*.deb"))
        self.assertEqual(len(debs), 1, debs)
        deb = debs[0]
        self.assertRegex(deb.name, rf"^bnorm_{re.escape(VERSION)}_\w+\.deb$")

        fields = {name: check_call("dpkg-deb", "-f", deb, name).strip()
                  for name in ["Package", "Version", "Depends", "Section", "Maintainer"]}
        self.assertEqual(fields["Package"], "bnorm")
        self.assertEqual(fields["Version"], VERSION)
        depends = [d.strip().split()[0] for d in fields["Depends"].split(",")]
        # dpkg-shlibdeps' list: the C runtime, with its version, the C++ runtime exactly when
        # the binary loads it (BNORM_STATIC_RUNTIME links it in), and no -dev package (the
        # libraries bnorm builds with are header-only).
        self.assertIn("libc6", depends)
        links = check_call("ldd", BUILD_DIR / "bnorm")
        self.assertEqual("libstdc++6" in depends, "libstdc++.so" in links, (depends, links))
        self.assertEqual("libgcc-s1" in depends, "libgcc_s.so" in links, (depends, links))
        self.assertRegex(fields["Depends"], r"libc6 \(>= [\d.]+\)")
        self.assertFalse([d for d in depends if d.endswith("-dev")], depends)

        contents = check_call("dpkg-deb", "-c", deb)
        for name in FILES:
            self.assertIn(f"./usr/{name}\n", contents)
        self.assertRegex(contents, r"-rwxr-xr-x root/root +\d+ .* \./usr/bin/bnorm\n")

        root = self.dir / "root"
        check_call("dpkg", "-x", deb, root)
        self.check_tree(root / "usr")
        # Stripped: no symbol table in the packaged binary.
        if shutil.which("file"):
            self.assertIn("stripped", check_call("file", root / "usr/bin/bnorm"))
            self.assertNotIn("not stripped", check_call("file", root / "usr/bin/bnorm"))


if __name__ == "__main__":
    unittest.main()
