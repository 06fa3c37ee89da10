#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The README's examples are run, so they never go stale.

Every ```console block is a shell session: lines starting with "$ " are commands, run in order
by one bash in a scratch folder holding a copy of samples/, with bnorm on PATH; the lines
after a command are its expected output (stdout and stderr together).  `--update` rewrites the
README's expected output from what the commands print now: read the diff before committing it.
"""
import os
import pathlib
import re
import subprocess
import sys
import unittest

from cli_support import BNORM, SOURCE_DIR, ScratchTestCase

README = SOURCE_DIR / "README.md"
BLOCK = re.compile(r"^```console\n(.*?)^```$", re.S | re.M)
MARK = "@@bnorm-readme-mark@@"


def sessions(text):
    """(start offset, end offset, [(command, expected output)]) for each console block."""
    for match in BLOCK.finditer(text):
        steps = []
        for line in match.group(1).splitlines():
            if line.startswith("$ "):
                steps.append([line[2:], []])
            elif steps:
                steps[-1][1].append(line)
            else:
                raise ValueError(f"README: output before any command: {line!r}")
        yield match.start(1), match.end(1), [(cmd, "\n".join(out)) for cmd, out in steps]


def run_session(steps, folder):
    """Runs the commands in one bash; returns each one's combined output."""
    script = ["exec 2>&1"]
    for command, _ in steps:
        # Keep each command's exit status for the next (so `echo $?` works) across the mark.
        script += [command, f"__status=$?; echo {MARK}; (exit $__status)"]
    env = dict(os.environ, PATH=f"{pathlib.Path(BNORM).resolve().parent}:{os.environ['PATH']}")
    completed = subprocess.run(["bash", "-c", "\n".join(script)], cwd=folder, env=env,
                               capture_output=True, text=True, timeout=120)
    outputs = completed.stdout.split(MARK + "\n")
    return [o.rstrip("\n") for o in outputs[: len(steps)]]


class ReadmeExamples(ScratchTestCase):
    def test_console_blocks(self):
        text = README.read_text()
        blocks = list(sessions(text))
        self.assertGreater(len(blocks), 3)
        for number, (_, _, steps) in enumerate(blocks, 1):
            actual = run_session(steps, self.dir)
            for (command, expected), got in zip(steps, actual):
                with self.subTest(block=number, command=command):
                    self.assertEqual(got, expected)

    def test_quick_start_is_the_two_scripts(self):
        text = README.read_text()
        quick = re.search(r"## Quick start\n.*?```sh\n(.*?)```", text, re.S)
        self.assertIsNotNone(quick, "README has no quick start block")
        commands = [l for l in quick.group(1).splitlines() if l and not l.startswith("#")]
        self.assertEqual(commands, ["scripts/quickstart.sh", "scripts/test.sh"])
        for script in commands:
            self.assertTrue(os.access(SOURCE_DIR / script, os.X_OK), script)
        ci = (SOURCE_DIR / ".ci/run").read_text()
        self.assertIn("exec scripts/test.sh", ci)


def update():
    text = README.read_text()
    pieces, last = [], 0
    folder = pathlib.Path(subprocess.check_output(["mktemp", "-d"], text=True).strip())
    subprocess.run(["cp", "-r", str(SOURCE_DIR / "samples"), str(folder)], check=True)
    for start, end, steps in sessions(text):
        actual = run_session(steps, folder)
        body = "".join(f"$ {cmd}\n" + (out + "\n" if out else "") for (cmd, _), out in zip(steps, actual))
        pieces += [text[last:start], body]
        last = end
    pieces.append(text[last:])
    README.write_text("".join(pieces))


if __name__ == "__main__":
    if "--update" in sys.argv:
        update()
    else:
        unittest.main()
