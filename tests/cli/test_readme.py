#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The examples of the README and of docs/*.md are run, so they never go stale; the README is a
front door to docs/, and every link between them leads somewhere.

Every ```console block is a shell session: lines starting with "$ " are commands, run in order
by one bash in a scratch folder holding a copy of samples/, with bnorm on PATH; the lines
after a command are its expected output (stdout and stderr together).  The blocks of one file
share its folder; each file starts from a fresh one.  `--update` rewrites the expected output
of every file from what the commands print now: read the diff before committing it.
"""
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

from cli_support import BNORM, SAMPLES, SOURCE_DIR

README = SOURCE_DIR / "README.md"
DOCS = SOURCE_DIR / "docs"
BLOCK = re.compile(r"^```console\n(.*?)^```$", re.S | re.M)
MARK = "@@bnorm-readme-mark@@"
# When the reference moved from the README into docs/ (#16), the README held 25 console blocks
# of 79 commands: the move may add examples, and must lose none.
BLOCKS_BEFORE_THE_MOVE, COMMANDS_BEFORE_THE_MOVE = 25, 79
# The reference topics the README's "Documentation" links to, one file each.
REFERENCE = ["GUIDE.md", "FORMATS.md", "CONVENTIONS.md", "STATE-FILES.md", "EXIT-STATUS.md",
             "BENCHMARKS.md", "CHANGES.md", "BUILDING.md", "ARCHITECTURE.md"]
# One example for each job a newcomer comes with, in the README's tour.
TOUR = ["Normalize a batch", "Inspect a tensor", "A pipeline", "A golden-file test",
        "A checkpoint", "A dataset"]
README_LIMIT = 20 * 1024  # bytes: ripgrep's README, a front door, is about this size


def documents():
    """The README, then docs/*.md by name."""
    return [README, *sorted(DOCS.glob("*.md"))]


def sessions(text, name="README"):
    """(start offset, end offset, [(command, expected output)]) for each console block."""
    for match in BLOCK.finditer(text):
        steps = []
        for line in match.group(1).splitlines():
            if line.startswith("$ "):
                steps.append([line[2:], []])
            elif steps:
                steps[-1][1].append(line)
            else:
                raise ValueError(f"{name}: output before any command: {line!r}")
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
    # A command that ended the shell (exit, exec) leaves the ones after it unrun: None each, so
    # that they fail rather than drop out of a zip.
    ran = [o.rstrip("\n") for o in outputs[: len(steps)]]
    if len(outputs) <= len(steps):
        ran = ran[: len(outputs) - 1] + [None] * (len(steps) - len(outputs) + 1)
    return ran


def without_code(text):
    """The text with fenced blocks and code spans blanked, so that only real links remain."""
    text = re.sub(r"^```.*?^```$", "", text, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "code", text)


def slug(heading):
    """A heading's anchor, as GitHub makes it: markup dropped, lower case, every character but
    letters, digits, '_', '-' and spaces dropped, spaces made '-'."""
    text = heading.replace("`", "").strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path):
    """Every anchor of a Markdown file's headings (a repeated one gets -1, -2, ... as on GitHub)."""
    seen, found = {}, set()
    text = re.sub(r"^```.*?^```$", "", path.read_text(), flags=re.S | re.M)
    for heading in re.findall(r"^#{1,6} (.+)$", text, re.M):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(path):
    """The relative link targets of a Markdown file, as written ([text](target), images too)."""
    targets = re.findall(r"\]\(([^)\s]+)\)", without_code(path.read_text()))
    return [t for t in targets if not re.match(r"[a-z]+:", t)]


def section(text, title):
    """The body of the `## title` section of a Markdown text, up to the next `## `."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    return match.group(1) if match else None


class Examples(unittest.TestCase):
    def test_console_blocks(self):
        blocks = commands = 0
        for document in documents():
            name = document.relative_to(SOURCE_DIR)
            text = document.read_text()
            folder = pathlib.Path(tempfile.mkdtemp(prefix="bnorm-test-"))
            try:
                shutil.copytree(SAMPLES, folder / "samples")
                for number, (_, _, steps) in enumerate(sessions(text, name), 1):
                    blocks += 1
                    commands += len(steps)
                    actual = run_session(steps, folder)
                    for (command, expected), got in zip(steps, actual):
                        with self.subTest(file=str(name), block=number, command=command):
                            self.assertEqual(got, expected)
            finally:
                shutil.rmtree(folder, ignore_errors=True)
        self.assertGreaterEqual(blocks, BLOCKS_BEFORE_THE_MOVE)
        self.assertGreaterEqual(commands, COMMANDS_BEFORE_THE_MOVE)

    def test_a_command_left_unrun_fails(self):
        folder = pathlib.Path(tempfile.mkdtemp(prefix="bnorm-test-"))
        try:
            steps = [("echo one", "one"), ("exit 0", ""), ("echo two", "two")]
            self.assertEqual(run_session(steps, folder), ["one", None, None])
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def test_help_blocks_are_in_the_guide(self):
        # The guide shows `bnorm --help` and every subcommand's, which test_console_blocks
        # checks against the binary, so that a changed flag shows in the docs' diff.
        guide = (DOCS / "GUIDE.md").read_text()
        commands = [cmd for _, _, steps in sessions(guide, "GUIDE.md") for cmd, _ in steps]
        self.assertIn("bnorm --help", commands)
        top = subprocess.run([BNORM, "--help"], capture_output=True, text=True, check=True)
        listed = top.stdout.split("Subcommands:\n", 1)[1].split("\n\n", 1)[0]
        names = [line.split()[0] for line in listed.splitlines() if line.startswith("  ")
                 and not line.startswith("   ")]
        self.assertIn("apply", names)
        for name in names:
            if name != "help":
                with self.subTest(subcommand=name):
                    self.assertTrue(f"bnorm {name} --help" in commands,
                                    f"docs/GUIDE.md has no `bnorm {name} --help` block")


class FrontDoor(unittest.TestCase):
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

    def test_readme_is_short_and_in_order(self):
        text = README.read_text()
        self.assertLessEqual(len(text.encode()), README_LIMIT)
        titles = re.findall(r"^## (.+)$", re.sub(r"^```.*?^```$", "", text, flags=re.S | re.M),
                            re.M)
        wanted = ["Quick start", "A tour", "Install", "Documentation"]
        self.assertEqual([t for t in titles if t in wanted], wanted)

    def test_tour_has_one_example_per_job(self):
        tour = section(README.read_text(), "A tour")
        self.assertIsNotNone(tour, "README has no tour")
        jobs = re.split(r"^### (.+)\n", tour, flags=re.M)
        bodies = dict(zip(jobs[1::2], jobs[2::2]))
        self.assertEqual(list(bodies), TOUR)
        for job, body in bodies.items():
            with self.subTest(job=job):
                steps = [s for _, _, block in sessions(body, job) for s in block]
                self.assertTrue(any(cmd.startswith("bnorm ") or "| bnorm " in cmd
                                    for cmd, _ in steps), job)
                self.assertTrue(any(output for _, output in steps), f"{job}: no output shown")
                self.assertTrue(re.search(r"\]\(docs/\w", body), f"{job}: no link to docs/")

    def test_documentation_links_every_reference_file(self):
        listed = section(README.read_text(), "Documentation")
        self.assertIsNotNone(listed, "README has no Documentation section")
        targets = {t.split("#")[0] for t in re.findall(r"\]\(([^)\s]+)\)", listed)}
        for name in REFERENCE:
            with self.subTest(file=name):
                self.assertTrue((DOCS / name).is_file(), name)
                self.assertIn(f"docs/{name}", targets)
        # And nothing in docs/ that a reader of the README cannot find.
        self.assertEqual({p.name for p in DOCS.glob("*.md")} - set(REFERENCE), set())

    def test_links_and_anchors_resolve(self):
        for document in documents():
            for target in links(document):
                with self.subTest(file=str(document.relative_to(SOURCE_DIR)), link=target):
                    path, _, anchor = target.partition("#")
                    linked = (document.parent / path).resolve() if path else document
                    self.assertTrue(linked.exists(), f"{linked} does not exist")
                    self.assertTrue(linked.is_relative_to(SOURCE_DIR.resolve()), linked)
                    if anchor:
                        self.assertEqual(linked.suffix, ".md", target)
                        self.assertIn(anchor, anchors(linked))


def update():
    for document in documents():
        text = document.read_text()
        pieces, last = [], 0
        folder = pathlib.Path(tempfile.mkdtemp(prefix="bnorm-readme-"))
        shutil.copytree(SAMPLES, folder / "samples")
        for start, end, steps in sessions(text, document.name):
            actual = run_session(steps, folder)
            body = "".join(f"$ {cmd}\n" + (out + "\n" if out else "")
                           for (cmd, _), out in zip(steps, actual))
            pieces += [text[last:start], body]
            last = end
        pieces.append(text[last:])
        shutil.rmtree(folder, ignore_errors=True)
        if "".join(pieces) != text:
            document.write_text("".join(pieces))


if __name__ == "__main__":
    if "--update" in sys.argv:
        update()
    else:
        unittest.main()
