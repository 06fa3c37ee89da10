# SPDX-License-Identifier: Apache-2.0
"""The set-up split by need (issue #16): scripts/setup.sh installs what building needs,
scripts/test.sh adds what only the tests need, and the quick start builds only the binary it
runs.  The scripts run here against stand-ins for apt, dpkg-query, cmake and bnorm that log
what they were asked, so nothing is installed or built; the configure check runs real CMake."""
import os
import pathlib
import re
import shutil
import subprocess
import tempfile
import unittest

SOURCE_DIR = pathlib.Path(os.environ.get("BNORM_SOURCE_DIR",
                                         pathlib.Path(__file__).resolve().parents[2]))
SCRIPTS = SOURCE_DIR / "scripts"

# Each stand-in appends its name and arguments, one call a line, to $STUB_LOG.  dpkg-query says
# a package is installed unless it is named in $STUB_MISSING.
STUBS = {
    "apt-get": 'echo "apt-get $*" >>"$STUB_LOG"',
    "sudo": '"$@"',
    "dpkg-query": '''pkg=${@: -1}
for m in $STUB_MISSING; do [[ $m == "$pkg" ]] && exit 1; done
printf 'install ok installed\'''',
    "cmake": 'echo "cmake $*" >>"$STUB_LOG"',
}


def bash_array(script, name):
    """The words of the bash array `name=(...)` in `script`, which may span lines."""
    text = (SCRIPTS / script).read_text()
    match = re.search(rf"^\s*{name}=\(([^)]*)\)", text, re.MULTILINE)
    if match is None:
        raise AssertionError(f"{script} has no array {name}")
    return [word for line in match.group(1).splitlines()
            for word in line.split("#", 1)[0].split()]


class StubbedScripts(unittest.TestCase):
    def setUp(self):
        self.tmp = pathlib.Path(tempfile.mkdtemp(prefix="bnorm-setup-"))
        self.addCleanup(shutil.rmtree, self.tmp)
        stubs = self.tmp / "stubs"
        stubs.mkdir()
        for name, body in STUBS.items():
            path = stubs / name
            path.write_text(f"#!/bin/bash\n{body}\n")
            path.chmod(0o755)
        self.build = self.tmp / "build"
        self.build.mkdir()
        bnorm = self.build / "bnorm"
        bnorm.write_text('#!/bin/bash\necho "bnorm $*" >>"$STUB_LOG"\n')
        bnorm.chmod(0o755)
        self.log = self.tmp / "calls.log"

    def run_script(self, script, missing=(), **env):
        environment = {**os.environ, "PATH": f"{self.tmp / 'stubs'}:{os.environ['PATH']}",
                       "STUB_LOG": str(self.log), "STUB_MISSING": " ".join(missing),
                       "BNORM_BUILD_DIR": str(self.build), **env}
        completed = subprocess.run(["bash", str(SCRIPTS / script)], env=environment,
                                   capture_output=True, text=True, timeout=60)
        self.assertEqual(completed.returncode, 0, completed.stderr)
        return self.log.read_text().splitlines() if self.log.exists() else []

    def test_quick_start_builds_the_binary_alone_and_runs_it(self):
        calls = self.run_script("quickstart.sh")
        builds = [c for c in calls if c.startswith("cmake --build")]
        self.assertEqual(len(builds), 1, calls)
        self.assertEqual(builds[0].split("--target", 1)[1].split(), ["bnorm"], builds[0])
        configure = [c for c in calls if c.startswith("cmake -S")]
        self.assertEqual(len(configure), 1, calls)
        self.assertNotIn("BNORM_BUILD_TESTS=ON", configure[0])
        self.assertTrue(any(c.startswith("bnorm apply ") for c in calls), calls)
        self.assertFalse([c for c in calls if c.startswith("apt-get")], calls)

    def test_quick_start_installs_only_the_missing_build_packages(self):
        build_packages = bash_array("setup.sh", "packages")
        missing = [build_packages[0], build_packages[-1], "chromium", "python3-torch"]
        calls = self.run_script("quickstart.sh", missing=missing)
        apt = [c.split() for c in calls if c.startswith("apt-get")]
        self.assertEqual([c[1] for c in apt], ["update", "install"], calls)
        asked = [word for word in apt[1][2:] if not word.startswith("-")]
        self.assertEqual(asked, [build_packages[0], build_packages[-1]])

    def test_the_tests_packages_come_in_the_same_apt_run_as_the_builds(self):
        build_packages = bash_array("setup.sh", "packages")
        test_packages = bash_array("test.sh", "test_packages")
        calls = self.run_script("setup.sh", missing=[build_packages[1], test_packages[0],
                                                     test_packages[-1]],
                                BNORM_EXTRA_PACKAGES=" ".join(test_packages),
                                BNORM_CMAKE_ARGS="-DBNORM_BUILD_TESTS=ON")
        apt = [c.split() for c in calls if c.startswith("apt-get")]
        self.assertEqual([c[1] for c in apt], ["update", "install"], calls)
        asked = [word for word in apt[1][2:] if not word.startswith("-")]
        self.assertEqual(asked, [build_packages[1], test_packages[0], test_packages[-1]])
        configure = [c for c in calls if c.startswith("cmake -S")]
        self.assertIn("-DBNORM_BUILD_TESTS=ON", configure[0].split())
        builds = [c for c in calls if c.startswith("cmake --build")]
        self.assertNotIn("--target", builds[0].split())


class PackageLists(unittest.TestCase):
    def test_setup_installs_nothing_only_the_tests_need(self):
        build_packages = bash_array("setup.sh", "packages")
        test_packages = bash_array("test.sh", "test_packages")
        self.assertEqual(sorted(set(build_packages) & set(test_packages)), [])
        # What the tests alone run: the references, the fuzzers' compiler, the renderers.
        for package in ("doctest-dev", "python3", "python3-numpy", "python3-torch",
                        "python3-onnx", "libonnx-testdata", "clang", "chromium", "zsh",
                        "groff-base", "man-db", "dpkg-dev", "file", "lintian", "parallel"):
            self.assertIn(package, test_packages)

    def test_test_command_asks_setup_for_the_tests(self):
        text = (SCRIPTS / "test.sh").read_text()
        self.assertTrue('BNORM_EXTRA_PACKAGES="${test_packages[*]}"' in text,
                        "test.sh does not pass its packages to setup.sh")
        self.assertTrue("-DBNORM_BUILD_TESTS=ON" in text, "test.sh does not ask for the tests")


@unittest.skipUnless(shutil.which("cmake"), "cmake is not installed")
class ConfigureWithoutTestPackages(unittest.TestCase):
    """A machine with the build's packages only: CMake configures without doctest (and
    without Python), and leaves the tests out; asking for the tests there fails loudly."""

    def configure(self, *args):
        build = tempfile.mkdtemp(prefix="bnorm-configure-")
        self.addCleanup(shutil.rmtree, build)
        completed = subprocess.run(
            ["cmake", "-S", str(SOURCE_DIR), "-B", build, "-DCMAKE_DISABLE_FIND_PACKAGE_doctest=ON",
             "-DBNORM_TEST_PYTHON=/nonexistent/python3", *args],
            capture_output=True, text=True, timeout=120)
        return completed, build

    def test_configures_without_doctest_and_leaves_the_tests_out(self):
        completed, build = self.configure()
        self.assertEqual(completed.returncode, 0, completed.stderr)
        targets = subprocess.run(["cmake", "--build", build, "--target", "help"],
                                 capture_output=True, text=True, timeout=60).stdout
        self.assertRegex(targets, r"\.\.\. bnorm\b")
        self.assertNotIn("unit_tests", targets)
        self.assertFalse((pathlib.Path(build) / "CTestTestfile.cmake").exists())

    def test_asking_for_the_tests_without_doctest_fails(self):
        completed, _ = self.configure("-DBNORM_BUILD_TESTS=ON")
        self.assertNotEqual(completed.returncode, 0)
        self.assertIn("doctest", completed.stderr)


if __name__ == "__main__":
    unittest.main()
