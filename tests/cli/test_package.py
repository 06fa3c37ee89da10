#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Installation and the Debian package: `cmake --install` puts every file where a tool's
files go, and `cpack -G DEB` builds a package of the tool's files (the runtime component)
whose Depends dpkg-shlibdeps computed, which runs from a scratch root (`dpkg -x`, no
installation on this machine), whose copyright file states, in Debian's machine-readable
format, the licences of what is compiled into the binary as Debian's own packages state them,
and on which lintian finds no error."""
import glob
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
# The runtime component: what the .deb holds.
FILES = ["bin/bnorm", "share/man/man1/bnorm.1.gz", "share/bash-completion/completions/bnorm",
         "share/zsh/vendor-completions/_bnorm", "share/doc/bnorm/copyright",
         "share/doc/bnorm/changelog.gz"]
# Where the development component (the library: headers, archive, CMake package, bnorm.pc)
# installs, beside the runtime files, with a plain `cmake --install`.
DEVELOPMENT = ("include/", "lib/")


# lintian's tags suppressed on the package, each with why: none.  Debian 12's lintian reports
# no error and no warning on it; what stays is at the information level, which it shows only
# with -I: binary-has-unneeded-section .comment (the compilers' names, which `strip` as CPack
# runs it keeps), hardening-no-bindnow (bnorm is linked without -z now; it loads no library
# but the C library, libm and zlib) and spelling-error-in-binary "ment" (a piece of a
# string in the binary, not a word).
LINTIAN_SUPPRESSED = []

FORMAT = "https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
# Built into the binary's objects but loaded at run time from their own packages, whose
# copyright files come with them (Depends): the C library, the kernel's headers, zlib.
LOADED = {"libc6-dev", "linux-libc-dev", "zlib1g-dev"}
# GCC's own headers and runtime: the GCC paragraph names them when the runtime is linked in.
GCC = {"libstdc++-12-dev", "libgcc-12-dev"}
# The objects of the binary: its own, the command line's, the core's and the ONNX schema's
# (onnx.pb.cc, compiled by bnorm_onnx_objects; bnorm_onnx_schema is an interface target).
TARGETS = ["bnorm", "bnorm_cli", "bnorm_core", "bnorm_onnx_objects"]


def paragraphs(text):
    """A deb822 file (DEP-5) as a list of paragraphs, each {field: value}, a value's
    continuation lines kept, joined by newlines, with their first space removed."""
    result = []
    for block in re.split(r"\n\s*\n", text.strip("\n")):
        fields, name = {}, None
        for line in block.split("\n"):
            if line.startswith((" ", "\t")):
                assert name, f"a continuation line before any field: {line!r}"
                fields[name] += "\n" + line[1:]
            else:
                name, _, value = line.partition(":")
                assert name not in fields, f"field {name} twice in a paragraph"
                fields[name] = value.strip()
        result.append(fields)
    return result


def words(text):
    """A licence text's words, wherever its lines break, its paragraphs' " ." marks gone,
    and a pointer to Debian's copy of a licence reduced to the copy's name."""
    common = re.search(r"/usr/share/common-licenses/([\w.+-]+)", text)
    if common:
        return ["common-licenses", common.group(1).rstrip(".")]
    return [w for w in text.split() if w != "."]


def holders(value):
    return [line.strip() for line in value.split("\n") if line.strip()]


def licence_names(expression):
    """The short names of a License expression: "Expat or Apache-2.0" -> both."""
    expression = re.sub(r" with [\w.-]+ exception$", "", expression)
    return [name.strip() for name in re.split(r" or | and ", expression)]


def licence_texts(document):
    """Each standalone License paragraph's text by its short name."""
    return {p["License"].split("\n")[0]: p["License"].split("\n", 1)[1]
            for p in document if "Files" not in p and "License" in p and "\n" in p["License"]}


def packages_of(paths):
    """{path: the Debian package that installed it, or None}, in one dpkg query."""
    listed = subprocess.run(["dpkg", "-S", *paths], capture_output=True, text=True).stdout
    found = {}
    for line in listed.splitlines():
        owner, sep, path = line.rpartition(": ")
        if sep and not owner.startswith("diversion"):
            found[path] = owner.split(",")[0].strip().split(":")[0]
    return {path: found.get(path) for path in paths}


def package_of(path):
    return packages_of([path])[path]


def debian_paragraph(document, pattern):
    """The paragraph of a Debian copyright file that covers our Files `pattern` (a path on
    this machine, under usr/): the one naming that file, else Files: *."""
    for paragraph in document[1:]:
        names = paragraph.get("Files", "").split()
        if any(n != "*" and not n.startswith("debian/") and pattern.endswith("/" + n)
               for n in names):
            return paragraph
    return next(p for p in document if p.get("Files", "").split() == ["*"])


def included_packages():
    """The Debian packages whose headers the binary's objects were compiled from, read from
    the compiler's dependency files in the build folder."""
    listed = []
    ninja = (BUILD_DIR / "build.ninja").exists()
    for target in TARGETS:
        depfiles = list((BUILD_DIR / "CMakeFiles" / f"{target}.dir").rglob("*.o.d"))
        # Every target's objects are read, or the headers of one would go unseen.
        assert depfiles or ninja, f"no dependency files of {target}'s objects"
        for depfile in depfiles:
            listed += depfile.read_text().replace("\\\n", " ").split()
    if not listed and ninja:
        # Ninja keeps the dependencies in its log, not in the compiler's files.
        listed = check_call("ninja", "-C", BUILD_DIR, "-t", "deps").split()
    headers = {os.path.normpath(w) for w in listed if w.startswith("/usr/") and not w.endswith(":")}
    packages = {}
    for header, package in sorted(packages_of(sorted(headers)).items()):
        packages.setdefault(package, []).append(header)
    return packages


def check_copyright(test, text):
    """`text` is a DEP-5 copyright file that states bnorm's licence, Apache-2.0, and, for
    everything compiled or linked into the binary, the holders and licence texts that the
    Debian package it came from states."""
    document = paragraphs(text)
    header, files = document[0], [p for p in document[1:] if "Files" in p]
    test.assertEqual(header.get("Format"), FORMAT)
    test.assertEqual(header.get("Upstream-Name"), "bnorm")
    allowed = {"Files", "Copyright", "License", "Comment"}
    for paragraph in document[1:]:
        test.assertTrue(set(paragraph) <= allowed and "License" in paragraph, paragraph)
        test.assertEqual("Files" in paragraph, "Copyright" in paragraph, paragraph)
    own = files[0]
    test.assertEqual(own["Files"], "*")
    test.assertEqual(own["License"], "Apache-2.0")
    texts = licence_texts(document)
    # The Apache License 2.0 as Debian allows it: a pointer to its copy, which is LICENSE.
    common = pathlib.Path("/usr/share/common-licenses/Apache-2.0")
    test.assertEqual(words(texts["Apache-2.0"]), ["common-licenses", "Apache-2.0"])
    if common.exists():
        test.assertEqual(common.read_text(), (SOURCE_DIR / "LICENSE").read_text())
    # Every name a Files paragraph uses has a text, inline or standalone, and every
    # standalone text is used.
    used = set()
    for paragraph in files:
        first, _, inline = paragraph["License"].partition("\n")
        if inline:
            continue
        for name in licence_names(first):
            test.assertIn(name, texts, paragraph["Files"])
            used.add(name)
    test.assertEqual(set(texts) - used, set())

    covered = {}
    for paragraph in files[1:]:
        pattern = paragraph["Files"].split()[0]
        matches = sorted(m for m in glob.glob("/" + pattern) if os.path.isfile(m))
        test.assertTrue(matches, f"{pattern}: nothing on this machine")
        package = package_of(matches[0])
        test.assertIsNotNone(package, matches[0])
        covered.setdefault(package, []).append(paragraph)
        theirs_text = pathlib.Path(f"/usr/share/doc/{package}/copyright").read_text()
        first, _, inline = paragraph["License"].partition("\n")
        with test.subTest(files=pattern, package=package):
            if package in GCC:
                # GCC's file is not machine-readable: its holder, its years and the
                # exception's text, word for word.
                test.assertIn("GCC-exception-3.1", first)
                years = re.match(r"(\d{4})-(\d{4}) (.*)", paragraph["Copyright"])
                gcc = re.search(r"GCC is Copyright \(C\) (\d{4}),[\d,\s]*?(\d{4})\s+(.*)\n",
                                theirs_text)
                test.assertEqual(years.groups(), gcc.groups())
                exception = " ".join(words(inline[inline.index("GCC RUNTIME LIBRARY"):]))
                test.assertIn(exception, " ".join(theirs_text.split()))
                continue
            theirs = paragraphs(theirs_text)
            test.assertEqual(theirs[0].get("Format", "").rstrip("/"), FORMAT.rstrip("/"))
            source = debian_paragraph(theirs, pattern)
            test.assertEqual(holders(paragraph["Copyright"]), holders(source["Copyright"]))
            if pattern.endswith("onnx.proto"):
                # Debian's file predates ONNX's move to Apache-2.0: the schema says its
                # licence in its own SPDX line.
                spdx = re.search(r"SPDX-License-Identifier: (\S+)", pathlib.Path(matches[0])
                                 .read_text()).group(1)
                test.assertEqual(first, spdx)
                continue
            ours = sorted(words(inline) if inline else words(texts[n])
                          for n in licence_names(first))
            their_first, _, their_inline = source["License"].partition("\n")
            their_texts = {**licence_texts(theirs),
                           **{p["License"].split("\n")[0]: p["License"].split("\n", 1)[1]
                              for p in theirs if "Files" in p and "\n" in p["License"]}}
            test.assertEqual(ours, sorted(words(their_inline) if their_inline else
                                          words(their_texts[n])
                                          for n in licence_names(their_first)))

    # What the binary was compiled from: every package's headers are covered, or loaded from
    # their own package at run time, or GCC's.
    links = check_call("ldd", BUILD_DIR / "bnorm")
    static_runtime = "libstdc++.so" not in links
    test.assertEqual(any(p in GCC for p in covered), static_runtime, links)
    included = included_packages()
    test.assertIn("libcli11-dev", included)  # the dependency files were found and read
    for package, headers in included.items():
        with test.subTest(package=package):
            test.assertIsNotNone(package, headers[:3])
            test.assertTrue(package in covered or package in LOADED or package in GCC,
                            f"{package} is compiled in ({headers[0]}) but has no paragraph")


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
        # Debian's changelog: its newest entry is this version, compressed reproducibly.
        changelog = prefix / "share/doc/bnorm/changelog.gz"
        self.assertEqual(changelog.read_bytes()[4:8], b"\0\0\0\0")
        entries = gzip.decompress(changelog.read_bytes()).decode()
        self.assertRegex(entries.splitlines()[0],
                         rf"^bnorm \({re.escape(VERSION)}\) \w+; urgency=\w+$")
        self.assertRegex(entries, r"\n -- [^<>\n]+ <[^@\s]+@[\w.-]+\.\w+>  \w{3}, \d\d \w{3} \d{4} "
                                  r"\d\d:\d\d:\d\d [+-]\d{4}\n")
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
        self.assertEqual(sorted(set(installed) & set(FILES)), sorted(FILES))
        # Beside the tool's files, only the library's: no tests, no build products.
        self.assertEqual([p for p in installed if p not in FILES and
                          not p.startswith(DEVELOPMENT)], [])

    def test_runtime_component_is_the_tool(self):
        prefix = self.dir / "prefix"
        check_call("cmake", "--install", BUILD_DIR, "--prefix", prefix, "--component", "runtime")
        self.check_tree(prefix)
        installed = sorted(str(p.relative_to(prefix)) for p in prefix.rglob("*") if p.is_file())
        self.assertEqual(installed, sorted(FILES))
        check_copyright(self, (prefix / "share/doc/bnorm/copyright").read_text())

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
        changelog = gzip.decompress((BUILD_DIR / "packaging/changelog.gz").read_bytes()).decode()
        self.assertIn(f"\n -- {fields['Maintainer']}  ", changelog)
        self.assertEqual(fields["Version"], VERSION)
        depends = [d.strip().split()[0] for d in fields["Depends"].split(",")]
        # dpkg-shlibdeps' list: the C library, with its version, zlib, the C++ runtime exactly
        # when the binary loads it (BNORM_STATIC_RUNTIME links it in), and no -dev package
        # (protobuf is linked in from its static library, the others are header-only).
        self.assertIn("libc6", depends)
        links = check_call("ldd", BUILD_DIR / "bnorm")
        self.assertEqual("libstdc++6" in depends, "libstdc++.so" in links, (depends, links))
        self.assertEqual("libgcc-s1" in depends, "libgcc_s.so" in links, (depends, links))
        self.assertRegex(fields["Depends"], r"libc6 \(>= [\d.]+\)")
        self.assertFalse([d for d in depends if d.endswith("-dev")], depends)
        # docs/BUILDING.md says what the Depends are: each library loaded is named there.
        said = next(" ".join(p.split()) for p in
                    (SOURCE_DIR / "docs/BUILDING.md").read_text().split("\n\n")
                    if p.startswith("A Debian package of the `runtime` component"))
        for package, name in [("libc6", "C library"), ("zlib1g", "zlib"),
                              ("libstdc++6", "C++ runtime"), ("libprotobuf32", "protobuf")]:
            if package in depends:
                with self.subTest(depends=package):
                    self.assertIn(name, said)
        # And a library linked in from its static archive is not "header-only" there.
        if "protobuf: " in check_call(BNORM, "--version") and "linked in" in check_call(
                BNORM, "--version").split("protobuf: ", 1)[1].split("\n", 1)[0]:
            self.assertIn("protobuf", said)

        contents = check_call("dpkg-deb", "-c", deb)
        # The runtime component and nothing else: no header, library or CMake package.
        packaged = sorted(line.split(" ./", 1)[1] for line in contents.splitlines()
                          if not line.startswith("d"))
        self.assertEqual(packaged, sorted(f"usr/{name}" for name in FILES), contents)
        self.assertRegex(contents, r"-rwxr-xr-x root/root +\d+ .* \./usr/bin/bnorm\n")
        self.assertRegex(contents,
                         r"-rw-r--r-- root/root +\d+ .* \./usr/share/doc/bnorm/copyright\n")

        root = self.dir / "root"
        check_call("dpkg", "-x", deb, root)
        self.check_tree(root / "usr")
        # Stripped: no symbol table in the packaged binary.
        if shutil.which("file"):
            self.assertIn("stripped", check_call("file", root / "usr/bin/bnorm"))
            self.assertNotIn("not stripped", check_call("file", root / "usr/bin/bnorm"))
        check_copyright(self, (root / "usr/share/doc/bnorm/copyright").read_text())
        # The package shipped is the Release build's; a sanitizer build's is not one.
        if shutil.which("lintian") and os.environ.get("BNORM_SANITIZED") != "1":
            self.check_lintian(deb)

    def check_lintian(self, deb):
        # Debian 12's lintian, as a distribution's archive would run it on the package.
        suppressed = ["--suppress-tags", ",".join(LINTIAN_SUPPRESSED)] if LINTIAN_SUPPRESSED else []
        completed = subprocess.run(["lintian", "--tag-display-limit", "0", *suppressed, str(deb)],
                                   capture_output=True, text=True)
        # No error, and no warning either, as docs/BUILDING.md says.
        self.assertEqual([l for l in completed.stdout.splitlines() if l.startswith(("E:", "W:"))],
                         [], completed.stdout)
        self.assertEqual(completed.returncode, 0, completed.stdout + completed.stderr)


if __name__ == "__main__":
    unittest.main()
