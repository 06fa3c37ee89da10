#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Runs the command-line cases: each `*.sh` file under this folder is run by `sh -e` in a fresh
folder holding a copy of samples/ (and what its folder's setup made), with `bnorm` on PATH,
and its exit status, stdout and stderr are compared with the files beside it:

    NAME.sh.exit                     the exit status (absent: 0)
    NAME.sh.stdout.exact / .glob     standard output (absent: empty)
    NAME.sh.stderr.exact / .glob     standard error (absent: empty)

In a .glob file `*` matches any run of characters within a line, and a line holding only
`...` matches any number of lines; everything else is literal.  A folder's `setup` (run by
sh) or `setup.py` (run by /usr/bin/python3) runs once, in a folder each of its cases then
starts from a copy of.  `bnorm` is bin/bnorm, which also checks that every failing run left
its folder as it found it.

    run.py [--bnorm PATH] [--set-exact] [--keep] [FILTER...]

A FILTER selects the cases whose name (e.g. usage/unknown-flag.sh) contains it or matches it
as a shell pattern.  --set-exact rewrites the .exit and .exact files from what the cases do
now, so that the change is reviewed in `git diff`; .glob files are left for a person to edit.
Exit status 0 when every case matched, 1 otherwise.
"""
import argparse
import difflib
import fnmatch
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

CASES = pathlib.Path(__file__).resolve().parent
SOURCE_DIR = CASES.parents[1]
SAMPLES = SOURCE_DIR / "samples"
HELPERS = CASES / "bin"
STREAMS = ("stdout", "stderr")
# The sanitizers' settings and the loader's path reach the binary; nothing else of the
# caller's environment does (BNORM_PROGRESS_THRESHOLD, a locale, a terminal's size).
PASSED_THROUGH = ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "LD_LIBRARY_PATH")


def find_cases(filters):
    names = sorted(p.relative_to(CASES).as_posix() for p in CASES.rglob("*.sh")
                   if HELPERS not in p.parents)
    if not filters:
        return names
    return [n for n in names if any(f in n or fnmatch.fnmatchcase(n, f) for f in filters)]


def environment(bnorm, scratch, home):
    env = {name: os.environ[name] for name in PASSED_THROUGH if name in os.environ}
    env.update({
        "PATH": f"{HELPERS}:/usr/bin:/bin",
        "LC_ALL": "C", "LANG": "C", "TZ": "UTC",
        "TERM": "dumb", "COLUMNS": "80", "LINES": "24", "NO_COLOR": "1",
        "HOME": str(home), "TMPDIR": str(home),
        "CASES_BNORM": str(bnorm),
        "CASES_SCRATCH": str(scratch),
        "CASES_BREACHES": str(scratch / "breaches"),
    })
    return env


def glob_line(pattern):
    return re.compile("".join(".*" if part == "*" else re.escape(part)
                              for part in re.split(r"(\*)", pattern)), re.S)


def glob_matches(patterns, lines):
    """Whether `lines` match the glob `patterns` (lists of lines without their newlines)."""
    compiled = [None if p == "..." else glob_line(p) for p in patterns]
    # reachable[j]: the patterns so far can match the first j lines.
    reachable = [True] + [False] * len(lines)
    for pattern in compiled:
        following = [False] * (len(lines) + 1)
        for j, ok in enumerate(reachable):
            if not ok:
                continue
            if pattern is None:
                for k in range(j, len(lines) + 1):
                    following[k] = True
                break
            if j < len(lines) and pattern.fullmatch(lines[j]):
                following[j + 1] = True
        reachable = following
    return reachable[len(lines)]


def glob_shown(patterns, lines):
    """The patterns with every line they match replaced by that line, so that a diff against
    the actual lines shows only what does not match."""
    shown, j = [], 0
    for i, pattern in enumerate(patterns):
        if pattern == "...":
            following = patterns[i + 1] if i + 1 < len(patterns) else None
            while j < len(lines) and (following is None or following == "..." or
                                      not glob_line(following).fullmatch(lines[j])):
                shown.append(lines[j])
                j += 1
        elif j < len(lines) and glob_line(pattern).fullmatch(lines[j]):
            shown.append(lines[j])
            j += 1
        else:
            shown.append(pattern)
    return shown


def text_lines(data):
    return data.decode("utf-8", "replace").split("\n")


def unified(expected, actual, expected_name, actual_name):
    """A unified diff of two texts given as lists of lines split at newlines (the last one
    empty when the text ends with a newline)."""
    def with_ends(lines):
        out = [line + "\n" for line in lines[:-1]]
        if lines[-1]:
            out.append(lines[-1] + "\n\\ No newline at end of file\n")
        return out
    return "".join(difflib.unified_diff(with_ends(expected), with_ends(actual),
                                        expected_name, actual_name))


class Case:
    def __init__(self, name):
        self.name = name
        self.path = CASES / name

    def expected_file(self, stream, kind):
        return self.path.with_name(f"{self.path.name}.{stream}.{kind}")

    def run(self, bnorm, root, prepared, timeout):
        scratch = root / self.name
        self.folder = scratch / "work"
        home = scratch / "home"
        home.mkdir(parents=True)
        shutil.copytree(prepared, self.folder, symlinks=True)
        try:
            completed = subprocess.run(["sh", "-e", str(self.path)], cwd=self.folder,
                                       env=environment(bnorm, scratch, home),
                                       stdin=subprocess.DEVNULL, capture_output=True,
                                       timeout=timeout)
            self.status, self.output = completed.returncode, {
                "stdout": completed.stdout, "stderr": completed.stderr}
        except subprocess.TimeoutExpired as expired:
            self.status, self.output = None, {"stdout": expired.stdout or b"",
                                              "stderr": expired.stderr or b""}
        breaches = scratch / "breaches"
        self.breaches = breaches.read_text() if breaches.exists() else ""

    def check(self, set_exact, timeout):
        """The problems found, as text; rewrites the expected files first with set_exact."""
        problems = []
        if self.status is None:
            problems.append(f"timed out after {timeout} s")
        exit_file = self.path.with_name(self.path.name + ".exit")
        expected_status = int(exit_file.read_text()) if exit_file.exists() else 0
        if self.status is not None and self.status != expected_status:
            if set_exact:
                if self.status == 0:
                    exit_file.unlink()
                else:
                    exit_file.write_text(f"{self.status}\n")
                problems.append(f"rewrote {exit_file.name}: {self.status}")
            else:
                problems.append(f"exit status {self.status}, expected {expected_status}")
        for stream in STREAMS:
            problems += self.check_stream(stream, set_exact)
        if self.breaches:
            problems.append(self.breaches.rstrip("\n"))
        return problems

    def check_stream(self, stream, set_exact):
        actual = self.output[stream]
        exact, glob = self.expected_file(stream, "exact"), self.expected_file(stream, "glob")
        if glob.exists():
            patterns, lines = text_lines(glob.read_bytes()), text_lines(actual)
            if glob_matches(patterns, lines):
                return []
            diff = unified(glob_shown(patterns, lines), lines, f"{self.name}.{stream}.glob",
                           f"actual {stream}")
            return [f"{stream} does not match {glob.name}"
                    f"{' (edit it by hand)' if set_exact else ''}:\n{diff}"]
        expected = exact.read_bytes() if exact.exists() else b""
        if actual == expected:
            return []
        if set_exact:
            if actual:
                exact.write_bytes(actual)
            else:
                exact.unlink()
            return [f"rewrote {exact.name}"]
        name = f"{self.name}.{stream}.exact" if exact.exists() else f"(empty {stream})"
        diff = unified(text_lines(expected), text_lines(actual), name, f"actual {stream}")
        return [f"{stream} differs:\n{diff}"]


def prepare(folder, root, bnorm, timeout):
    """The folder each case of `folder` starts from: samples/, and what its setup made."""
    prepared = root / "prepared" / folder.relative_to(CASES) / "work"
    home = prepared.parent / "home"
    home.mkdir(parents=True)
    shutil.copytree(SAMPLES, prepared / "samples")
    for script, interpreter in (("setup", "sh"), ("setup.py", "/usr/bin/python3")):
        if (folder / script).exists():
            completed = subprocess.run(
                [interpreter, str(folder / script)], cwd=prepared,
                env=environment(bnorm, prepared.parent, home), stdin=subprocess.DEVNULL,
                capture_output=True, timeout=timeout)
            if completed.returncode != 0:
                raise RuntimeError(f"{folder.relative_to(CASES)}/{script} exited "
                                   f"{completed.returncode}:\n"
                                   f"{completed.stderr.decode('utf-8', 'replace')}")
    return prepared


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("filters", nargs="*", metavar="FILTER")
    parser.add_argument("--bnorm", default=os.environ.get("BNORM", "bnorm"),
                        help="the binary under test (default: $BNORM, else bnorm on PATH)")
    parser.add_argument("--set-exact", action="store_true",
                        help="rewrite the .exit and .exact files from the actual results")
    parser.add_argument("--keep", action="store_true",
                        help="keep the scratch folders and say where they are")
    parser.add_argument("--timeout", type=float, default=60)
    args = parser.parse_args()

    bnorm = shutil.which(args.bnorm)
    if bnorm is None:
        sys.exit(f"run.py: no binary {args.bnorm!r}: give --bnorm PATH or set BNORM")
    names = find_cases(args.filters)
    if not names:
        sys.exit(f"run.py: no case matches {' '.join(args.filters)}")
    root = pathlib.Path(tempfile.mkdtemp(prefix="bnorm-cases-"))
    failed, rewritten, prepared = [], [], {}
    try:
        for name in names:
            case = Case(name)
            folder = case.path.parent
            try:
                if folder not in prepared:
                    prepared[folder] = prepare(folder, root, pathlib.Path(bnorm).resolve(),
                                               args.timeout)
            except RuntimeError as error:
                prepared[folder] = error
            if isinstance(prepared[folder], RuntimeError):
                problems = [str(prepared[folder])]
            else:
                case.run(pathlib.Path(bnorm).resolve(), root, prepared[folder], args.timeout)
                problems = case.check(args.set_exact, args.timeout)
            if not problems:
                continue
            if all(p.startswith("rewrote ") for p in problems):
                rewritten.append(name)
                print(f"REWROTE {name}: {'; '.join(p[len('rewrote '):] for p in problems)}")
            else:
                failed.append(name)
                print(f"FAIL {name}")
                for problem in problems:
                    print("  " + problem.replace("\n", "\n  ").rstrip(" "))
    finally:
        if args.keep:
            print(f"scratch folders kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    passed = len(names) - len(failed) - len(rewritten)
    print(f"cases: {passed} passed, {len(failed)} failed"
          + (f", {len(rewritten)} rewritten" if rewritten else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
