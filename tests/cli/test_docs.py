#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The man page, --help, `bnorm help` and --version: one source, so they cannot drift.

Every option and subcommand that bnorm's parser knows (read from its --help, which CLI11 writes
from the definitions) must be in the generated man page, in that subcommand's section, and the
page must render with groff without a warning.
"""
import os
import pathlib
import re
import shutil
import subprocess
import unittest

from cli_support import BNORM, SOURCE_DIR, ScratchTestCase, run

BUILD_DIR = pathlib.Path(os.environ.get("BNORM_BUILD_DIR", pathlib.Path(BNORM).resolve().parent))
MAN_PAGE = BUILD_DIR / "docs" / "bnorm.1"
SECTIONS = ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "CONVENTIONS", "FILES", "ENVIRONMENT",
            "EXIT STATUS", "EXAMPLES", "SEE ALSO"]


def help_text(*args):
    result = run([*args, "--help"])
    assert result.status == 0, result
    return result.stdout.decode()


def subcommands():
    """The subcommands listed by `bnorm --help`."""
    text = help_text()
    block = text.split("Subcommands:\n", 1)[1].split("\n\n", 1)[0]
    return [line.split()[0] for line in block.splitlines() if line.startswith("  ") and
            not line.startswith("   ")]


def flags(help_output):
    """Every -x and --name in the option lines of a --help output."""
    found = set()
    for line in help_output.splitlines():
        match = re.match(r"  (-[-\w,]+)", line)
        if match:
            found.update(name for name in match.group(1).split(",") if name)
    return found


def rendered():
    """The man page as man shows it, without hyphenation or justification getting in the way."""
    env = dict(os.environ, MANWIDTH="200", MAN_KEEP_FORMATTING="0", LC_ALL="C.UTF-8")
    completed = subprocess.run(["groff", "-man", "-Tutf8", "-rLL=200n", "-P-cbou",
                                "-dAD=l", "-rHY=0", str(MAN_PAGE)],
                               capture_output=True, text=True, env=env, check=True)
    return completed.stdout


@unittest.skipUnless(shutil.which("groff"), "groff is not installed (groff-base)")
class ManPage(unittest.TestCase):
    def test_renders_without_warnings(self):
        completed = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", str(MAN_PAGE)],
                                   capture_output=True, text=True)
        self.assertEqual(completed.returncode, 0)
        self.assertEqual(completed.stderr, "")

    @unittest.skipUnless(shutil.which("man"), "man is not installed (man-db)")
    def test_man_shows_it(self):
        completed = subprocess.run(["man", "--warnings", "-l", str(MAN_PAGE)], capture_output=True,
                                   text=True, env=dict(os.environ, MANPAGER="cat", PAGER="cat"))
        self.assertEqual(completed.returncode, 0, completed.stderr)
        self.assertEqual(completed.stderr, "")
        words = " ".join(completed.stdout.split())
        self.assertIn("NAME bnorm - batch normalization for tensor files,", words)

    def test_has_every_section_in_order(self):
        text = rendered()
        positions = [text.find("\n" + name + "\n") for name in SECTIONS]
        self.assertNotIn(-1, positions, dict(zip(SECTIONS, positions)))
        self.assertEqual(positions, sorted(positions))

    def test_every_flag_of_every_subcommand_is_in_its_section(self):
        text = rendered()
        names = subcommands()
        self.assertEqual(names[:4], ["apply", "stats", "layers", "compare"])
        options = text.split("\nOPTIONS\n", 1)[1].split("\nCONVENTIONS\n", 1)[0]
        # The sections "   bnorm SUBCOMMAND" of OPTIONS, by name.
        parts = re.split(r"^   bnorm ?(\w*)\n", options, flags=re.M)
        sections = dict(zip(parts[1::2], parts[2::2]))
        self.assertIn("", sections)  # the options before any subcommand
        for name in ["", *names]:
            with self.subTest(subcommand=name or "(none)"):
                known = flags(help_text(name) if name else help_text())
                self.assertGreater(len(known), 1)
                documented = set(re.findall(r"(?<![\w-])(--?[A-Za-z0-9][\w-]*)", sections[name]))
                self.assertEqual(known - documented, set())
                self.assertIn(name, text.split("\nSYNOPSIS\n", 1)[1].split("\nDESCRIPTION\n")[0])

    def test_every_default_is_documented(self):
        text = rendered()
        self.assertIn("Default: torch.", text)  # --convention
        self.assertIn("Default: 1e-05.", text)  # compare --rtol
        conventions = text.split("\nCONVENTIONS\n", 1)[1].split("\nFILES\n", 1)[0]
        for name, eps, momentum, axis in [("torch", "1e-05", "0.1", "1"),
                                          ("keras", "0.001", "0.99", "-1"),
                                          ("onnx", "1e-05", "0.9", "1"),
                                          ("tf-fused", "0.001", "0.99", "-1"),
                                          ("caffe", "1e-05", "0.999", "1"),
                                          ("flax", "1e-05", "0.99", "-1")]:
            entry = re.search(rf"^       {re.escape(name)}\s+(.*?)(?=^       \S|\Z)", conventions,
                              re.M | re.S)
            self.assertIsNotNone(entry, name)
            entry = " ".join(entry.group(1).split())
            self.assertIn(f"eps {eps}", entry)
            self.assertIn(f"momentum {momentum},", entry)
            self.assertIn(f"channel axis {axis};", entry)

    def test_exit_statuses_match_the_help_footer(self):
        footer = help_text().strip().splitlines()[-1]
        self.assertTrue(footer.startswith("Exit status: 0 ok"), footer)
        exit_section = rendered().split("\nEXIT STATUS\n", 1)[1].split("\nEXAMPLES\n", 1)[0]
        for status in re.findall(r"(\d) ", footer.split(":", 1)[1]):
            self.assertRegex(exit_section, rf"(?m)^       {status}\s")

    def test_is_plain_ascii_roff(self):
        source = MAN_PAGE.read_bytes()
        self.assertTrue(source.isascii())
        self.assertTrue(source.startswith(b".\\\" Generated"))
        version = re.search(r"project\(bnorm VERSION ([\d.]+)",
                            (SOURCE_DIR / "CMakeLists.txt").read_text()).group(1)
        self.assertIn(f'.TH BNORM 1 "" "bnorm {version}"'.encode(), source)


@unittest.skipUnless(shutil.which("groff"), "groff is not installed (groff-base)")
class ManPageExamples(ScratchTestCase):
    def test_every_example_runs(self):
        """The commands of EXAMPLES, in order, in a folder holding the files they name."""
        examples = rendered().split("\nEXAMPLES\n", 1)[1].split("\nSEE ALSO\n", 1)[0]
        commands = re.sub(r"\\\n\s+", "", examples)  # join continued lines
        commands = [line.strip() for line in commands.splitlines()
                    if line.startswith("           bnorm ")]
        self.assertGreaterEqual(len(commands), 8)
        for name in ["batch.npy", "next.npy", "shard1.npy", "shard2.npy"]:
            shutil.copy(self.path("samples/batch.npy"), self.path(name))
        shutil.copy(self.path("samples/state.json"), self.path("state.json"))
        shutil.copy(self.path("samples/features.json"), self.path("features.json"))
        shutil.copy(self.path("samples/conv_bn.onnx"), self.path("model.onnx"))
        self.assertEqual(run(["apply", "batch.npy", "-o", "y.npy"], cwd=self.dir).status, 0)
        shutil.copy(self.path("y.npy"), self.path("golden_y.npy"))
        env = dict(os.environ, PATH=f"{pathlib.Path(BNORM).resolve().parent}:{os.environ['PATH']}")
        for command in commands:
            with self.subTest(command=command):
                completed = subprocess.run(["bash", "-c", command], cwd=self.dir, env=env,
                                           capture_output=True, text=True)
                self.assertEqual((completed.returncode, completed.stderr), (0, ""))


class HelpAndVersion(unittest.TestCase):
    def test_help_subcommand_is_subcommand_help(self):
        for name in subcommands():
            if name == "help":
                continue
            with self.subTest(subcommand=name):
                result = run(["help", name])
                self.assertEqual(result.status, 0, result)
                self.assertEqual(result.stdout.decode(), help_text(name))
                self.assertIn(f"Usage: bnorm {name} ", result.stdout.decode())

    def test_help_alone_is_the_top_help(self):
        result = run(["help"])
        self.assertEqual(result.status, 0, result)
        self.assertEqual(result.stdout.decode(), help_text())
        self.assertIn("Subcommands:", result.stdout.decode())

    def test_help_of_help_is_its_own_help(self):
        # The completions offer `help` as a topic like every subcommand.
        result = run(["help", "help"])
        self.assertEqual(result.status, 0, result)
        self.assertEqual(result.stdout, run(["help", "--help"]).stdout)
        self.assertIn(b"Usage: bnorm help", result.stdout)

    def test_man_page_does_not_hyphenate_flags(self):
        # A flag broken across lines (--momen- / tum) cannot be copied from the page.
        self.assertIn("\n.nh\n", MAN_PAGE.read_text())

    def test_help_of_an_unknown_subcommand_is_a_usage_error(self):
        result = run(["help", "aply"])
        self.assertEqual(result.status, 2)
        self.assertEqual(result.stdout, b"")
        self.assertEqual(result.stderr.splitlines(),
                         ["bnorm: error: help: no subcommand 'aply': there are apply, stats, "
                          "layers, compare, convert, merge, backward, fold"])

    def test_version_names_bnorm_and_its_libraries(self):
        result = run(["--version"])
        self.assertEqual(result.status, 0, result)
        lines = result.stdout.decode().splitlines()
        version = re.search(r"project\(bnorm VERSION ([\d.]+)",
                            (SOURCE_DIR / "CMakeLists.txt").read_text()).group(1)
        self.assertEqual(lines[0], f"bnorm {version}")
        fields = dict(line.split(": ", 1) for line in lines[1:])
        self.assertRegex(fields["compiler"], r"^(g\+\+|clang) \d+\.\d+")
        for library in ["CLI11", "nlohmann/json", "xtensor", "xtl", "xsimd", "zlib"]:
            self.assertRegex(fields[library], r"^\d+\.\d+\.\d+", library)
        self.assertIn("fast_float", fields)
        # The versions of the headers this build used: Debian 12's, when built there.
        cli11 = pathlib.Path("/usr/include/CLI/Version.hpp")
        if cli11.exists():
            self.assertIn(f'"{fields["CLI11"]}"', cli11.read_text())

class ReferenceAndManPage(unittest.TestCase):
    """docs/ holds the reference in prose; the man page is generated from the code's own tables
    (the conventions' registry, the exit statuses, the parser).  Where both state a fact, they
    must agree, and the page points to the files."""

    DOCS = SOURCE_DIR / "docs"

    @staticmethod
    def table_rows(text):
        """The rows of a Markdown table, as lists of cells."""
        return [[cell.strip() for cell in line.strip().strip("|").split("|")]
                for line in text.splitlines() if line.startswith("|") and "---" not in line]

    @staticmethod
    def first_number(cell):
        """The first number of a table's cell, its minus sign (U+2212) read as '-'."""
        number = re.search(r"[-\u2212]?[\d.]+(?:e-?\d+)?", cell).group()
        return float(number.replace("\u2212", "-"))

    @unittest.skipUnless(shutil.which("groff"), "groff is not installed (groff-base)")
    def test_conventions_doc_states_the_man_pages_defaults(self):
        rows = self.table_rows((self.DOCS / "CONVENTIONS.md").read_text())
        names = [cell.strip("`") for cell in rows[0][1:]]
        self.assertEqual(names, ["torch", "keras", "onnx", "tf-fused", "caffe", "flax"])
        table = {row[0]: dict(zip(names, row[1:])) for row in rows[1:]}
        conventions = rendered().split("\nCONVENTIONS\n", 1)[1].split("\nFILES\n", 1)[0]
        for name in names:
            entry = re.search(rf"^       {re.escape(name)}\s+(.*?)(?=^       \S|\Z)", conventions,
                              re.M | re.S)
            self.assertIsNotNone(entry, name)
            entry = " ".join(entry.group(1).split())
            for row, said in [("eps", r"eps ([\d.e-]+)"), ("momentum", r"momentum ([\d.e-]+),"),
                              ("channel axis", r"channel axis (-?\d+);")]:
                with self.subTest(convention=name, row=row):
                    self.assertEqual(self.first_number(table[row][name]),
                                     float(re.search(said, entry).group(1)))

    def test_exit_status_doc_lists_the_statuses_of_the_help_footer(self):
        footer = help_text().strip().splitlines()[-1]
        statuses = re.findall(r"(\d) ", footer.split(":", 1)[1])
        rows = self.table_rows((self.DOCS / "EXIT-STATUS.md").read_text())
        self.assertEqual(rows[0][0], "status")
        self.assertEqual([row[0] for row in rows[1:]], statuses)

    def test_guide_has_a_section_for_every_subcommand(self):
        guide = (self.DOCS / "GUIDE.md").read_text()
        headings = re.findall(r"^#{1,3} (.+)$", re.sub(r"^```.*?^```$", "", guide,
                                                        flags=re.S | re.M), re.M)
        for name in subcommands():
            if name == "help":
                continue
            with self.subTest(subcommand=name):
                self.assertTrue(any(re.search(rf"`(bnorm )?{name}\b", h) for h in headings), name)

    @unittest.skipUnless(shutil.which("groff"), "groff is not installed (groff-base)")
    def test_see_also_names_the_reference_files(self):
        see_also = " ".join(rendered().split("\nSEE ALSO\n", 1)[1].split())
        named = re.findall(r"docs/[\w-]+\.md", see_also)
        self.assertIn("docs/GUIDE.md", named)
        self.assertIn("docs/CONVENTIONS.md", named)
        for path in named:
            with self.subTest(path=path):
                self.assertTrue((SOURCE_DIR / path).is_file(), path)


class FormatsTheDocsSayAreWritten(ScratchTestCase):
    """Where the help or the man page says bnorm writes a format, it does: each format named is
    tried (a read-only one, a model, is refused with exit 2, which these docs once hid)."""

    def written_by(self, *args):
        return self.bnorm(*args).status == 0

    @unittest.skipUnless(shutil.which("groff"), "groff is not installed (groff-base)")
    def test_stats_out_formats_of_the_man_page(self):
        words = " ".join(rendered().split())
        match = re.search(r"With an? ((?:\.\w+(?:, | or )?)+) name, --stats-out writes the state",
                          words)
        self.assertIsNotNone(match, "the --stats-out sentence of FILES")
        extensions = re.findall(r"\.\w+", match.group(1))
        self.assertGreaterEqual(len(extensions), 3, extensions)
        for extension in extensions:
            with self.subTest(extension=extension):
                out = f"s{extension}"
                self.assertTrue(self.written_by("apply", "samples/batch.npy", "-o", "y.npy",
                                                "--stats-out", out), out)

    def test_convert_summary_names_what_it_writes(self):
        line = [l for l in help_text().splitlines() if l.strip().startswith("convert ")][0]
        between = re.search(r"between formats \(([^)]*)\)", line).group(1)
        written = re.split(r", and out of ", between)[0]
        names = re.split(r", | and ", written)
        self.assertIn("npy", names)
        for name in names:
            with self.subTest(format=name):
                # A rank-2 tensor, which a table (CSV) holds too.
                self.assertTrue(self.written_by("convert", "samples/features.json", "out",
                                                "--output-format", name), name)

    def test_fold_output_formats_are_every_one_it_writes(self):
        help_output = help_text("fold")
        choices = re.search(r"--output-format (\S+)", help_output).group(1).split("|")
        for name in re.search(r"--input-format (\S+)", help_output).group(1).split("|"):
            with self.subTest(format=name):
                # A rank-2 weight, which a table (CSV) holds too.
                weight = self.written_by("fold", "samples/features.json", "--state",
                                         "samples/state.json", "--axis", "1", "-o", "w",
                                         "--bias-out", "b.npy", "--output-format", name)
                model = self.written_by("fold", "samples/conv_bn.onnx", "-o", "m",
                                        "--output-format", name)
                self.assertEqual(weight or model, name in choices, (weight, model, choices))

    def test_fold_tensor_is_read_from_every_format_its_help_names(self):
        line = [l for l in help_text("fold").splitlines() if l.strip().startswith("--tensor")][0]
        extensions = re.findall(r"\.\w+", line.split("from", 1)[1])
        samples = {".pt": "resnet_tiny.pt", ".npz": "batches.npz",
                   ".safetensors": "model.safetensors", ".onnx": "conv_bn.onnx"}
        self.assertGreaterEqual(len(extensions), 3, line)
        for extension in extensions:
            with self.subTest(extension=extension):
                result = self.bnorm("fold", f"samples/{samples[extension]}", "--tensor", "t",
                                    "--state", "samples/state.json", "-o", "w.npy",
                                    "--bias-out", "b.npy")
                # Read as a weight: the tensor 't' is looked for (and not found).
                self.assertEqual(result.status, 2, result)
                self.assertIn("'t'", result.stderr)
                self.assertNotIn("is a model", result.stderr)

    def test_fold_summary_names_the_model_fold(self):
        line = [l for l in help_text().splitlines() if l.strip().startswith("fold ")][0]
        self.assertIn("model", line)
        self.assertIn("model", " ".join(help_text("fold").split("\n\n")[0].split()))


if __name__ == "__main__":
    unittest.main()
