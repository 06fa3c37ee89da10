#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The generated completions: bash's, run in bash the way readline calls it, and zsh's, typed
into an interactive zsh on a pseudo-terminal (skipped where zsh is not installed;
scripts/test.sh installs it).

The expected words come from bnorm's own --help (what CLI11 knows), so a flag added to a
subcommand and missing from the completion fails here.
"""
import os
import pathlib
import pty
import re
import select
import shutil
import subprocess
import time
import unittest

from cli_support import BNORM, ScratchTestCase, run

BUILD_DIR = pathlib.Path(os.environ.get("BNORM_BUILD_DIR", pathlib.Path(BNORM).resolve().parent))
BASH_COMPLETION = BUILD_DIR / "docs" / "bnorm.bash"
ZSH_COMPLETION = BUILD_DIR / "docs" / "_bnorm"
CONVENTIONS = ["caffe", "flax", "keras", "onnx", "tf-fused", "torch"]
SUBCOMMANDS = ["apply", "backward", "compare", "convert", "fold", "help", "layers", "merge",
               "stats"]


def flags_in_help(*subcommand):
    text = run([*subcommand, "--help"]).stdout.decode()
    found = set()
    for line in text.splitlines():
        match = re.match(r"  (-[-\w,]+)", line)
        if match:
            found.update(name for name in match.group(1).split(",") if name)
    return found


class BashCompletion(ScratchTestCase):
    def complete(self, line):
        """COMPREPLY for the command line `line`, the cursor at its end, as bash's completion
        calls the function that `complete -p bnorm` names (words split at COMP_WORDBREAKS)."""
        script = r"""
source "$1"
spec=$(complete -p bnorm) || exit 3
function=$(sed -E 's/.*-F ([^ ]+) .*/\1/' <<<"$spec")
COMP_LINE=$2
COMP_POINT=${#COMP_LINE}
# Split as readline does: blanks separate words, '=' is a word of its own.
read -r -a COMP_WORDS <<<"${COMP_LINE//=/ = }"
[[ $COMP_LINE == *' ' || $COMP_LINE == *= ]] && COMP_WORDS+=('')
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
"$function" bnorm "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
printf '%s\n' "${COMPREPLY[@]}"
"""
        completed = subprocess.run(["bash", "--norc", "-c", script, "bash", str(BASH_COMPLETION),
                                    line], capture_output=True, text=True, cwd=self.dir)
        self.assertEqual(completed.returncode, 0, completed.stderr)
        self.assertEqual(completed.stderr, "")
        return sorted(word for word in completed.stdout.split("\n") if word)

    def test_registers_for_bnorm(self):
        completed = subprocess.run(["bash", "--norc", "-c", f'source "{BASH_COMPLETION}"; '
                                    "complete -p bnorm"], capture_output=True, text=True)
        self.assertEqual(completed.stdout.strip(), "complete -F _bnorm bnorm")

    def test_subcommands(self):
        self.assertEqual(self.complete("bnorm ap"), ["apply"])
        self.assertEqual(self.complete("bnorm "), SUBCOMMANDS)
        self.assertEqual(self.complete("bnorm help st"), ["stats"])

    def test_top_level_flags(self):
        self.assertEqual(self.complete("bnorm --v"), ["--version"])
        self.assertEqual(set(self.complete("bnorm -")), flags_in_help())

    def test_flags_of_every_subcommand_are_those_of_its_help(self):
        for name in SUBCOMMANDS:
            with self.subTest(subcommand=name):
                self.assertEqual(set(self.complete(f"bnorm {name} -")), flags_in_help(name))
        self.assertEqual(self.complete("bnorm apply --mo"), ["--mode", "--momentum"])
        # Flags after other words: the subcommand is still found.
        self.assertEqual(self.complete("bnorm apply samples/batch.npy -o y.npy --stats-o"),
                         ["--stats-out"])

    def test_values_an_option_lists(self):
        self.assertEqual(self.complete("bnorm apply --convention "), CONVENTIONS)
        self.assertEqual(self.complete("bnorm apply --convention t"), ["tf-fused", "torch"])
        self.assertEqual(self.complete("bnorm apply --mode "), ["eval", "train"])
        self.assertEqual(self.complete("bnorm apply --mode=e"), ["eval"])
        self.assertEqual(self.complete("bnorm stats --format "),
                         ["csv", "json", "normalize", "table"])
        self.assertEqual(self.complete("bnorm convert --dtype float3"), ["float32"])
        self.assertEqual(self.complete("bnorm compare --format "), ["json", "text"])

    def test_files_where_a_file_is_taken(self):
        self.assertEqual(self.complete("bnorm apply samples/batch."), ["samples/batch.npy"])
        self.assertEqual(self.complete("bnorm apply x.npy -o samples/sta"), ["samples/state.json"])
        self.assertEqual(self.complete("bnorm apply x.npy --state samples/st"),
                         ["samples/state.json"])
        self.assertEqual(self.complete("bnorm merge sam"), ["samples"])
        # After a flag that takes no value, the next word is an operand again.
        self.assertEqual(self.complete("bnorm apply --no-affine samples/batch."),
                         ["samples/batch.npy"])

    def test_file_names_are_neither_globbed_nor_taken_quoted(self):
        # compgen's output through $(...) was globbed: a[1].npy typed as a[ came back as a1.npy.
        for name in ["a[1].npy", "a1.npy"]:
            (self.dir / name).write_bytes(b"")
        self.assertEqual(self.complete("bnorm apply a["), ["a[1].npy"])
        self.assertEqual(self.complete("bnorm apply 'a["), ["a[1].npy"])
        self.assertEqual(self.complete("bnorm apply a\\[1"), ["a[1].npy"])

    def test_nothing_where_a_number_is_expected(self):
        self.assertEqual(self.complete("bnorm apply --eps "), [])
        self.assertEqual(self.complete("bnorm apply --momentum "), [])
        self.assertEqual(self.complete("bnorm compare a.npy b.npy --rtol 1"), [])


@unittest.skipUnless(shutil.which("zsh"), "zsh is not installed")
class ZshCompletion(ScratchTestCase):
    def test_parses(self):
        completed = subprocess.run(["zsh", "-n", str(ZSH_COMPLETION)], capture_output=True,
                                   text=True)
        self.assertEqual((completed.returncode, completed.stderr), (0, ""))

    def test_completes_in_an_interactive_zsh(self):
        """Types lines ending in Tab into an interactive zsh (compinit, our _bnorm first in
        $fpath) on a pseudo-terminal, and reads back what the line became."""
        pid, fd = pty.fork()
        if pid == 0:  # the child: zsh without any start-up file of this machine's
            os.chdir(self.dir)
            os.execvpe("zsh", ["zsh", "-f", "-i"], dict(os.environ, TERM="dumb"))

        def read(seconds, until=None):
            """What zsh writes in `seconds`, without terminal escapes; returns as soon as
            `until` has appeared."""
            out, end = "", time.monotonic() + seconds
            while time.monotonic() < end and not (until and until in out):
                if select.select([fd], [], [], 0.05)[0]:
                    try:
                        data = os.read(fd, 65536)
                    except OSError:
                        break
                    out = re.sub(r"\x1b\[[?0-9;]*[a-zA-Z]", "", out + data.decode("latin-1"))
            return out

        try:
            read(0.5)
            os.write(fd, f"fpath=({ZSH_COMPLETION.parent} $fpath); autoload -Uz compinit; "
                         "compinit -u -D; echo compinit-done\n".encode())
            read(10, until="compinit-done\r\n")
            for typed, completed in [("bnorm ap", "bnorm apply "),
                                     ("bnorm apply --conv", "bnorm apply --convention="),
                                     ("bnorm apply --convention tf", "bnorm apply --convention "
                                                                    "tf-fused "),
                                     ("bnorm stats --format c", "bnorm stats --format csv "),
                                     ("bnorm apply samples/batch.", "bnorm apply samples/batch.npy "),
                                     ("bnorm help me", "bnorm help merge ")]:
                with self.subTest(typed=typed):
                    os.write(fd, typed.encode() + b"\t")
                    self.assertIn(completed, read(10, until=completed))
                    os.write(fd, b"\x15")  # ^U: clear the line
                    read(0.1)
        finally:
            os.write(fd, b"exit\n")
            read(0.2)
            os.close(fd)
            os.waitpid(pid, 0)


class ZshCompletionText(unittest.TestCase):
    """What can be checked without zsh: the file is a completion function for bnorm that
    names every subcommand and flag."""

    def test_names_every_subcommand_and_flag(self):
        text = ZSH_COMPLETION.read_text()
        self.assertTrue(text.startswith("#compdef bnorm\n"))
        for name in SUBCOMMANDS:
            self.assertIn(f"'{name}:", text)
            for flag in flags_in_help(name):
                self.assertRegex(text, rf"'(\([^)]*\))?{re.escape(flag)}[=+\[]", (name, flag))
        self.assertIn("(torch keras onnx tf-fused caffe flax)", text)  # --convention's values


if __name__ == "__main__":
    unittest.main()
