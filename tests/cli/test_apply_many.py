#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""`bnorm apply FILE... -o DIR/`: files as successive batches of one training run, checked
against torch 1.13's BatchNorm modules fed the same batches (outputs of every file, final
running statistics and num_batches_tracked), `--momentum none` against
torch.optim.swa_utils.update_bn, `--batch-stats` from `stats` and `merge` documents, the
all-or-nothing commit, and thousands of files under a low descriptor limit."""
import json
import os
import resource
import subprocess
import unittest

import numpy as np
import torch

from cli_support import BNORM, ScratchTestCase

LARGE = os.environ.get("BNORM_LARGE_GRID") == "1"
BATCH_SIZES = [3, 5, 2, 7]
# (shape after the batch axis, torch module): 1-D (N, C), 1-D (N, C, L), 2-D (N, C, H, W).
LAYOUTS = [((4,), torch.nn.BatchNorm1d), ((3, 6), torch.nn.BatchNorm1d),
           ((3, 4, 5), torch.nn.BatchNorm2d)]


class ApplyMany(ScratchTestCase):
    def save_batches(self, rest, seed, sizes=BATCH_SIZES, folder="in", dtype=np.float64):
        rng = np.random.default_rng(seed)
        os.makedirs(self.path(folder), exist_ok=True)
        names, batches = [], []
        for i, n in enumerate(sizes):
            x = (rng.standard_normal((n, *rest)) * rng.uniform(0.5, 4) + rng.uniform(-3, 3))
            x = x.astype(dtype)
            # Given in an order that is not the byte order of the names: the order is the run's.
            name = f"{folder}/{len(sizes) - i:02d}.npy"
            np.save(self.path(name), x)
            names.append(name)
            batches.append(x)
        return names, batches

    def apply(self, *args):
        result = self.bnorm("apply", *args)
        self.assertEqual(result.status, 0, result)
        return result

    def test_chained_train_run_equals_a_torch_module(self):
        for rest, module in LAYOUTS:
            for momentum in ["0.1", "0.3"]:
                with self.subTest(shape=rest, momentum=momentum):
                    names, batches = self.save_batches(rest, seed=len(rest) * 7)
                    out = f"out-{len(rest)}-{momentum}/"
                    self.apply(*names, "-o", out, "--momentum", momentum, "--stats-out",
                               f"s-{len(rest)}-{momentum}.json")
                    bn = module(rest[0], momentum=float(momentum)).double().train()
                    with torch.no_grad():
                        for name, x in zip(names, batches):
                            expected = bn(torch.from_numpy(x)).numpy()
                            got = np.load(self.path(out + os.path.basename(name)))
                            np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
                    stats = json.loads(self.path(f"s-{len(rest)}-{momentum}.json").read_text())
                    np.testing.assert_allclose(stats["running_mean"], bn.running_mean.numpy(),
                                               rtol=1e-13, atol=1e-15)
                    np.testing.assert_allclose(stats["running_var"], bn.running_var.numpy(),
                                               rtol=1e-13)
                    self.assertEqual(stats["num_batches_tracked"], len(batches))
                    self.assertEqual(stats["files"], len(batches))
                    # The run's statistics are those of every file together.
                    whole = np.concatenate(batches)
                    axes = tuple(a for a in range(whole.ndim) if a != 1)
                    np.testing.assert_allclose(stats["mean"], whole.mean(axis=axes), rtol=1e-12)
                    np.testing.assert_allclose(stats["var"], whole.var(axis=axes), rtol=1e-12)

    def test_chain_starts_from_the_state_and_continues_it(self):
        names, batches = self.save_batches((3, 4), seed=5)
        self.path("state.json").write_text(json.dumps(
            {"weight": [2.0, 0.5, -1.0], "bias": [0.25, -1.0, 3.0], "running_mean": [1.0, 2.0, 3.0],
             "running_var": [4.0, 0.5, 2.0], "num_batches_tracked": 10}))
        self.apply(*names, "-o", "out/", "--state", "state.json", "--stats-out", "state.json")
        bn = torch.nn.BatchNorm1d(3).double().train()
        with torch.no_grad():
            bn.weight[:] = torch.tensor([2.0, 0.5, -1.0])
            bn.bias[:] = torch.tensor([0.25, -1.0, 3.0])
            bn.running_mean[:] = torch.tensor([1.0, 2.0, 3.0])
            bn.running_var[:] = torch.tensor([4.0, 0.5, 2.0])
            bn.num_batches_tracked.fill_(10)
            for name, x in zip(names, batches):
                np.testing.assert_allclose(np.load(self.path("out/" + os.path.basename(name))),
                                           bn(torch.from_numpy(x)).numpy(), rtol=1e-12,
                                           atol=1e-12)
        stats = json.loads(self.path("state.json").read_text())
        np.testing.assert_allclose(stats["running_mean"], bn.running_mean.numpy(), rtol=1e-13)
        np.testing.assert_allclose(stats["running_var"], bn.running_var.numpy(), rtol=1e-13)
        self.assertEqual(stats["num_batches_tracked"], 10 + len(batches))

    def test_a_run_continues_from_the_stats_out_of_a_run_over_many_files(self):
        # Epoch after epoch: the JSON --stats-out of a run over many files (with "files" in
        # place of a shape) is the --state of the next, as one torch module fed every batch.
        for momentum in ["0.1", "none"]:
            for second in [1, 3]:
                with self.subTest(momentum=momentum, second_epoch_files=second):
                    tag = f"{momentum}-{second}"
                    first, batches = self.save_batches((3, 2), seed=43, folder=f"e1-{tag}")
                    rest, more = self.save_batches((3, 2), seed=47, folder=f"e2-{tag}",
                                                   sizes=BATCH_SIZES[:second])
                    self.apply(*first, "-o", f"o1-{tag}/", "--momentum", momentum,
                               "--stats-out", f"s1-{tag}.json")
                    self.apply(*rest, "-o", f"o2-{tag}/", "--momentum", momentum, "--state",
                               f"s1-{tag}.json", "--stats-out", f"s2-{tag}.json")
                    bn = torch.nn.BatchNorm1d(
                        3, momentum=None if momentum == "none" else float(momentum)).double()
                    with torch.no_grad():
                        for x in batches:
                            bn(torch.from_numpy(x))
                        for name, x in zip(rest, more):
                            np.testing.assert_allclose(
                                np.load(self.path(f"o2-{tag}/" + os.path.basename(name))),
                                bn(torch.from_numpy(x)).numpy(), rtol=1e-12, atol=1e-12)
                    stats = json.loads(self.path(f"s2-{tag}.json").read_text())
                    np.testing.assert_allclose(stats["running_mean"], bn.running_mean.numpy(),
                                               rtol=1e-13, atol=1e-15)
                    np.testing.assert_allclose(stats["running_var"], bn.running_var.numpy(),
                                               rtol=1e-13)
                    self.assertEqual(stats["num_batches_tracked"], int(bn.num_batches_tracked))

    def test_stats_out_updates_a_state_of_tensors_in_place(self):
        names, batches = self.save_batches((3, 2), seed=41)
        np.savez(self.path("model.npz"), **{
            "bn.weight": np.array([1.5, 0.5, 2.0]), "bn.bias": np.array([0.0, 1.0, -1.0]),
            "bn.running_mean": np.zeros(3), "bn.running_var": np.ones(3),
            "bn.num_batches_tracked": np.array(4, dtype=np.int64),
            "fc.weight": np.arange(6.0).reshape(2, 3)})
        self.apply(*names, "--no-output", "--state", "model.npz", "--state-prefix", "bn.",
                   "--stats-out", "model.npz")
        bn = torch.nn.BatchNorm1d(3).double().train()
        with torch.no_grad():
            bn.num_batches_tracked.fill_(4)
            for x in batches:
                bn(torch.from_numpy(x))
        model = np.load(self.path("model.npz"))
        np.testing.assert_allclose(model["bn.running_mean"], bn.running_mean.numpy(), rtol=1e-13)
        np.testing.assert_allclose(model["bn.running_var"], bn.running_var.numpy(), rtol=1e-13)
        self.assertEqual(int(model["bn.num_batches_tracked"]), 4 + len(batches))
        np.testing.assert_array_equal(model["bn.weight"], [1.5, 0.5, 2.0])
        np.testing.assert_array_equal(model["fc.weight"], np.arange(6.0).reshape(2, 3))

    def test_momentum_none_equals_update_bn(self):
        for rest, module in LAYOUTS:
            with self.subTest(shape=rest):
                names, batches = self.save_batches(rest, seed=11 + len(rest))
                channels = rest[0]
                trained = {"weight": list(np.linspace(0.5, 2, channels)),
                           "bias": list(np.linspace(-1, 1, channels)),
                           "running_mean": list(np.linspace(3, 4, channels)),
                           "running_var": list(np.linspace(5, 6, channels)),
                           "num_batches_tracked": 50}
                state = f"trained-{len(rest)}.json"
                self.path(state).write_text(json.dumps(trained))
                # Recalibration: no normalized tensors, only the state, as update_bn does.
                stats_out = f"recal-{len(rest)}.json"
                self.apply(*names, "--no-output", "--momentum", "none", "--state", state,
                           "--reset-running-stats", "--stats-out", stats_out)
                model = torch.nn.Sequential(module(channels)).double()
                with torch.no_grad():
                    for key in ["weight", "bias", "running_mean", "running_var"]:
                        getattr(model[0], key)[:] = torch.tensor(trained[key])
                    model[0].num_batches_tracked.fill_(50)
                loader = torch.utils.data.DataLoader(
                    [torch.from_numpy(x) for x in batches], batch_size=None)
                torch.optim.swa_utils.update_bn(loader, model)
                bn = model[0]
                stats = json.loads(self.path(stats_out).read_text())
                np.testing.assert_allclose(stats["running_mean"], bn.running_mean.numpy(),
                                           rtol=1e-13, atol=1e-15)
                np.testing.assert_allclose(stats["running_var"], bn.running_var.numpy(),
                                           rtol=1e-13)
                self.assertEqual(stats["num_batches_tracked"], int(bn.num_batches_tracked))
                self.assertEqual(stats["weight"], trained["weight"])
                self.assertEqual(sorted(os.listdir(self.path("in"))),
                                 sorted(os.path.basename(n) for n in names))

    def test_other_conventions_chain_as_successive_runs(self):
        # keras and onnx have no torch module: their one-file runs (checked against their own
        # arithmetic elsewhere) chained through --state are the reference.
        # --virtual-batch-size applies per file (1 divides every batch size here).
        for convention, rest, extra in [("keras", (3, 4), []), ("onnx", (3, 5), []),
                                        ("keras", (4, 2, 3), []),
                                        ("torch", (3, 4), ["--virtual-batch-size", "1"])]:
            with self.subTest(convention=convention, shape=rest, extra=extra):
                tag = f"{convention}-{len(rest)}-{len(extra)}"
                names, _ = self.save_batches(rest, seed=len(rest) + len(convention),
                                             folder=f"in-{tag}")
                self.apply(*names, "-o", f"many-{tag}/", "--convention", convention, *extra,
                           "--stats-out", f"many-{tag}.json")
                state = []
                for i, name in enumerate(names):
                    os.makedirs(self.path(f"one-{tag}"), exist_ok=True)
                    self.apply(name, "-o", f"one-{tag}/{os.path.basename(name)}", "--convention",
                               convention, *extra, *state, "--stats-out", f"one-{tag}-{i}.json")
                    state = ["--state", f"one-{tag}-{i}.json"]
                    self.assertEqual(
                        self.path(f"many-{tag}/{os.path.basename(name)}").read_bytes(),
                        self.path(f"one-{tag}/{os.path.basename(name)}").read_bytes())
                many = json.loads(self.path(f"many-{tag}.json").read_text())
                last = json.loads(self.path(f"one-{tag}-{len(names) - 1}.json").read_text())
                for key in ["running_mean", "running_var", "num_batches_tracked"]:
                    self.assertEqual(many[key], last[key], key)

    def test_threads_give_the_same_bytes(self):
        names, _ = self.save_batches((3, 4, 4), seed=3, sizes=[4, 2, 6, 3, 5, 1, 2], dtype=np.float32)
        for threads in ["1", "2", "3"]:
            self.apply(*names, "-o", f"t{threads}/", "-j", threads, "--stats-out", f"t{threads}.json")
        for threads in ["2", "3"]:
            self.assertEqual(self.path(f"t{threads}.json").read_bytes(),
                             self.path("t1.json").read_bytes())
            for name in names:
                base = os.path.basename(name)
                self.assertEqual(self.path(f"t{threads}/{base}").read_bytes(),
                                 self.path(f"t1/{base}").read_bytes())

    def test_batch_stats_from_stats_and_merge_documents(self):
        names, batches = self.save_batches((3, 4), seed=17)
        whole = np.concatenate(batches)
        np.save(self.path("whole.npy"), whole)
        stats = self.bnorm("stats", "whole.npy", "--format", "json")
        self.assertEqual(stats.status, 0, stats)
        self.path("stats.json").write_bytes(stats.stdout)
        partials = []
        for i, name in enumerate(names):
            part = self.bnorm("stats", name, "--partial")
            self.assertEqual(part.status, 0, part)
            self.path(f"p{i}.json").write_bytes(part.stdout)
            partials.append(f"p{i}.json")
        merged = self.bnorm("merge", *partials, "-o", "merged.json")
        self.assertEqual(merged.status, 0, merged)
        mean = whole.mean(axis=(0, 2))[None, :, None]
        var = whole.var(axis=(0, 2))[None, :, None]
        for document, rtol in [("stats.json", 1e-12), ("merged.json", 1e-12)]:
            with self.subTest(document=document):
                out = f"out-{document}/"
                self.apply(*names, "-o", out, "--batch-stats", document, "--stats-out",
                           f"{document}.out.json", "-j", "2")
                for name, x in zip(names, batches):
                    np.testing.assert_allclose(np.load(self.path(out + os.path.basename(name))),
                                               (x - mean) / np.sqrt(var + 1e-5), rtol=rtol,
                                               atol=1e-12)
                # The running statistics take the whole batch once, as SyncBatchNorm's.
                bn = torch.nn.BatchNorm1d(3).double().train()
                with torch.no_grad():
                    bn(torch.from_numpy(whole))
                result = json.loads(self.path(f"{document}.out.json").read_text())
                np.testing.assert_allclose(result["running_mean"], bn.running_mean.numpy(),
                                           rtol=1e-12)
                np.testing.assert_allclose(result["running_var"], bn.running_var.numpy(),
                                           rtol=1e-12)
                self.assertEqual(result["num_batches_tracked"], 1)

    def test_eval_mode_normalizes_every_file_with_the_state(self):
        names, batches = self.save_batches((3, 2, 2), seed=23)
        self.path("state.json").write_text(json.dumps(
            {"running_mean": [1.0, -2.0, 0.5], "running_var": [2.0, 0.25, 9.0]}))
        self.apply(*names, "-o", "out/", "--mode", "eval", "--state", "state.json")
        bn = torch.nn.BatchNorm2d(3).double().eval()
        with torch.no_grad():
            bn.running_mean[:] = torch.tensor([1.0, -2.0, 0.5])
            bn.running_var[:] = torch.tensor([2.0, 0.25, 9.0])
            for name, x in zip(names, batches):
                np.testing.assert_allclose(np.load(self.path("out/" + os.path.basename(name))),
                                           bn(torch.from_numpy(x)).numpy(), rtol=1e-12,
                                           atol=1e-12)

    def test_a_failure_midway_leaves_the_folder_as_it_was(self):
        names, _ = self.save_batches((3,), seed=29, sizes=[4] * 6)
        self.path(names[3]).write_bytes(b"\x93NUMPY broken")
        os.mkdir(self.path("out"))
        self.path("out/keep.txt").write_text("mine")
        np.save(self.path("out/" + os.path.basename(names[0])), np.zeros((1, 3)))
        before = {p.name: p.read_bytes() for p in self.path("out").iterdir()}
        for threads in ["1", "2"]:
            result = self.bnorm("apply", *names, "-o", "out/", "--stats-out", "s.json", "-j", threads)
            self.assertFailsWith(result, 3, names[3])
            self.assertEqual({p.name: p.read_bytes() for p in self.path("out").iterdir()}, before)
            self.assertFalse(self.path("s.json").exists())
            # A folder the run would have created is not left behind.
            result = self.bnorm("apply", *names, "-o", "new/", "-j", threads)
            self.assertFailsWith(result, 3, names[3])
            self.assertFalse(self.path("new").exists())

    def test_stats_out_names_every_dtype_of_the_files(self):
        # As stats lists a dataset's dtypes: one name when the files agree, else each dtype
        # once in the order of the files (not the last file's alone).
        runs = [["float32", "float32"], ["float16", "float32", "float16", "float64"],
                ["int32", "uint8", "int32"]]
        for k, types in enumerate(runs):
            for flags in [[], ["--momentum", "none"], ["--no-output"]]:
                with self.subTest(types=types, flags=flags):
                    names = []
                    for i, t in enumerate(types):
                        name = f"t{k}-{i}.npy"
                        np.save(self.path(name), (np.arange(12.0).reshape(2, 3, 2) * (i + 1)).astype(t))
                        names.append(name)
                    output = [] if flags == ["--no-output"] else ["-o", f"out-{k}-{len(flags)}/"]
                    self.apply(*names, *output, *flags, "--stats-out", "s.json")
                    distinct = list(dict.fromkeys(str(np.load(self.path(n)).dtype) for n in names))
                    expected = distinct[0] if len(distinct) == 1 else distinct
                    self.assertEqual(json.loads(self.path("s.json").read_text())["dtype"], expected)
                    self.path("s.json").unlink()

    def test_a_file_that_differs_is_named_before_later_files_are_read(self):
        # Every file must have the first one's channel count, channel axis and kind of dtype
        # (floating, integer, bool), as stats asks of a dataset.  The first that differs is the error, whatever the threads: checked
        # when it is opened, not after every file was read, so a broken file after it is not
        # what the run reports.
        differs = {"channels": ((2, 3, 5), "5 channels, but the first input"),
                   "axis": ((6, 4), "channel axis 1 (shape (6, 4)), but the first input"),
                   "dtype": ((2, 3, 4), "int32 (integer), but the first input")}
        modes = {"train": [], "none": ["--momentum", "none"], "eval": ["--mode", "eval", "--state", "state.json"],
                 "no-output": ["--no-output", "--stats-out", "s.json"],
                 "virtual": ["--virtual-batch-size", "1"]}
        positions = range(1, 5) if LARGE else [1, 3]
        self.path("state.json").write_text(json.dumps({"running_mean": [0.0] * 4,
                                                       "running_var": [1.0] * 4}))
        for kind, (shape, phrase) in differs.items():
            for position in positions:
                for mode, flags in modes.items():
                    with self.subTest(kind=kind, position=position, mode=mode):
                        folder = f"d-{kind}-{position}-{mode}"
                        os.makedirs(self.path(folder))
                        names = []
                        for i in range(6):
                            name = f"{folder}/{i}.npy"
                            if i == position:
                                np.save(self.path(name), np.ones(shape, dtype=np.int32 if
                                                                 kind == "dtype" else None))
                            elif i == position + 1:
                                self.path(name).write_bytes(b"\x93NUMPY broken")
                            else:
                                np.save(self.path(name), np.arange(24.0).reshape(2, 3, 4))
                            names.append(name)
                        output = [] if mode == "no-output" else ["-o", folder + "-out/"]
                        for threads in ["1", "2", "4"]:
                            result = self.bnorm("apply", *names, *output, "--axis", "-1",
                                                *flags, "-j", threads)
                            self.assertFailsWith(result, 3, names[position] + ": " + phrase,
                                                 names[0])

    def test_thousands_of_files_under_a_low_descriptor_limit(self):
        count = 10000 if LARGE else 1500
        os.mkdir(self.path("many"))
        rng = np.random.default_rng(31)
        for i in range(count):
            np.save(self.path(f"many/{i:05d}.npy"), rng.standard_normal((2, 3)).astype(np.float32))

        def limit():
            resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))

        completed = subprocess.run(
            [BNORM, "apply", "many", "-o", "out/", "--stats-out", "s.json", "-j", "2"],
            cwd=self.dir, capture_output=True, preexec_fn=limit, timeout=600)
        self.assertEqual(completed.returncode, 0, completed.stderr)
        self.assertEqual(len(os.listdir(self.path("out"))), count)
        self.assertEqual(json.loads(self.path("s.json").read_text())["num_batches_tracked"], count)
        x = np.load(self.path("many/00007.npy")).astype(np.float64)
        expected = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + 1e-5)
        np.testing.assert_allclose(np.load(self.path("out/00007.npy")), expected, rtol=1e-6,
                                   atol=1e-6)


if __name__ == "__main__":
    unittest.main()
