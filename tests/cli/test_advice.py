#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The advice a user reads on an error: the core states what is missing in the library's
terms, and the CLI names the flags that supply it, only flags that the subcommand takes."""
import json
import re
import unittest

from cli_support import ScratchTestCase

EVAL_WITHOUT = "eval mode normalizes with running_mean and running_var: give them with --state"
SUBCOMMANDS = ["apply", "stats", "compare", "convert", "merge", "backward", "fold"]
NOT_PARTIAL = "not partial statistics (write them with bnorm stats --partial)"


class Advice(ScratchTestCase):
    def setUp(self):
        super().setUp()
        self.path("weights.json").write_text(json.dumps({"weight": [1, 1, 1]}))
        self.path("model.json").write_text(json.dumps({"mean": [0.0]}))
        self.path("model.stats").write_text(json.dumps({"mean": [0.0]}))
        self.path("list.json").write_text("[1, 2]")
        partial = self.bnorm("stats", "samples/batch.npy", "--partial", "--format", "json")
        self.assertEqual(partial.status, 0, partial)
        self.path("p.json").write_bytes(partial.stdout)
        self.help = {}

    def flags_of(self, subcommand):
        if subcommand not in self.help:
            result = self.bnorm(subcommand, "--help")
            self.assertEqual(result.status, 0, result)
            self.help[subcommand] = set(re.findall(r"--[a-z][a-z-]*", result.stdout.decode()))
        return self.help[subcommand]

    def assertAdvisesOnlyFlagsItTakes(self, subcommand, line):
        """Every flag in `line` is one of `subcommand`'s, or of the subcommand named before it."""
        named = r"\b(" + "|".join(SUBCOMMANDS) + r")((?: --[a-z][a-z-]*)+)"
        for other, flags in re.findall(named, line):
            self.assertLessEqual(set(flags.split()), self.flags_of(other), line)
        mine = re.sub(named, "", line)
        self.assertLessEqual(set(re.findall(r"--[a-z][a-z-]*", mine)), self.flags_of(subcommand),
                             f"bnorm {subcommand}: {line}")

    def check(self, args, status, line):
        result = self.bnorm(*args)
        self.assertFailsWith(result, status)
        self.assertEqual(result.stderr, f"bnorm: error: {line}\n")
        self.assertAdvisesOnlyFlagsItTakes(args[0], line)

    def test_running_statistics_missing(self):
        no_track = " (or use --no-track-running-stats for batch statistics)"
        runs = {
            "apply": (["apply", "samples/batch.npy", "-o", "y.npy", "--mode", "eval"],
                      EVAL_WITHOUT + no_track),
            "backward": (["backward", "samples/batch.npy", "--grad-output", "samples/batch.npy",
                          "-o", "y.npy", "--mode", "eval"], EVAL_WITHOUT + no_track),
            # stats has no --no-track-running-stats to offer.
            "stats": (["stats", "samples/batch.npy", "--after", "--plot", "p.svg", "--mode",
                       "eval"], EVAL_WITHOUT),
            "fold": (["fold", "samples/batch.npy", "-o", "f.npy", "--bias-out", "b.npy", "--axis",
                      "1"], "folding uses eval mode: give running_mean and running_var with --state"),
        }
        for name, (args, line) in runs.items():
            for state in [[], ["--state", "weights.json"]]:
                with self.subTest(subcommand=name, state=state):
                    self.check(args + state, 2, line)
        self.assertNoStrayFiles("weights.json", "model.json", "model.stats", "list.json", "p.json")

    def test_whole_batch_in_eval_mode(self):
        self.check(["apply", "samples/batch.npy", "-o", "y.npy", "--mode", "eval", "--state",
                    "samples/state.json", "--batch-stats", "p.json"], 2,
                   "--batch-stats gives batch statistics, which eval mode does not use")

    def test_not_partial_statistics_keeps_the_file_and_the_hint_around_the_advice(self):
        for document in ["model.json", "list.json", "model.stats"]:
            json_hint = ("" if document.endswith(".json") else
                         " (partial statistics are the JSON of stats --partial)")
            with self.subTest(document=document, subcommand="merge"):
                self.check(["merge", document, "-o", "m.json"], 3,
                           f"{document}: {NOT_PARTIAL}{json_hint}")
            merged_hint = ("" if document.endswith(".json") else
                           " (merged statistics are the JSON of bnorm merge)")
            with self.subTest(document=document, subcommand="apply"):
                self.check(["apply", "samples/batch.npy", "-o", "y.npy", "--batch-stats",
                            document], 3, f"{document}: {NOT_PARTIAL}{merged_hint}")


if __name__ == "__main__":
    unittest.main()
