#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""bnorm's benchmark harness: generates the inputs, runs bnorm and its peers alternately in
the same run (cp as the floor, the NumPy script, PyTorch when installed, onnx + NumPy for the
ONNX fold), and prints the median wall time and peak memory of each with ratios, as Markdown
with the method beside it.

    /usr/bin/python3 bench/bench.py --bnorm build/bnorm [--runs 5] [--out bench/results/DATE.md]
    /usr/bin/python3 bench/bench.py --bnorm build/bnorm --only dataset   # issue #15's numbers
    /usr/bin/python3 bench/bench.py --bnorm build/bnorm --only csv

Wall time is the median of --runs of the whole process; peak memory is GNU time's %M.
The machine is shared, so absolute times drift; the ratios, measured side by side, hold.
"""
import argparse
import datetime
import json
import os
import pathlib
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
PYTHON = "/usr/bin/python3"  # Debian's NumPy and PyTorch install for this interpreter


def wall_times(commands):
    """One run of each argv in `commands`, in turn: seconds each took.  hyperfine (Debian's
    package) starts them without a shell and subtracts nothing; without it, Python's
    subprocess does, which adds about a millisecond of its own to each run.  `sync` runs
    before each, untimed, so that no command pays for the write-back of the one before it
    (256 MiB of dirty pages from one command otherwise slow the next one's writes)."""
    if shutil.which("hyperfine"):
        with tempfile.NamedTemporaryFile(suffix=".json") as report:
            subprocess.run(["hyperfine", "-N", "--runs", "1", "--prepare", "sync", "--style",
                            "none", "--export-json", report.name,
                            *[" ".join(map(str, argv)) for argv in commands]],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            results = json.load(open(report.name))["results"]
        return [r["times"][0] for r in results]
    walls = []
    for argv in commands:
        os.sync()
        start = time.perf_counter()
        subprocess.run([str(a) for a in argv], stdout=subprocess.DEVNULL, check=True)
        walls.append(time.perf_counter() - start)
    return walls


def peak_memory(argv):
    """Peak resident MiB of one run of argv, from GNU time (rusage taken here would include
    the pre-exec copy of this Python process)."""
    completed = subprocess.run(["/usr/bin/time", "-f", "%M", *map(str, argv)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return int(completed.stderr.split()[-1]) / 1024


def have_torch():
    return subprocess.run([PYTHON, "-c", "import torch"], capture_output=True).returncode == 0


def make_inputs(folder):
    rng = np.random.default_rng(0)
    big = folder / "big.npy"  # 256 MiB float32, (64, 64, 128, 128)
    if not big.exists():
        with open(big, "wb") as f:
            header = np.lib.format.header_data_from_array_1_0(np.zeros((1,), np.float32))
            header["shape"] = (64, 64, 128, 128)
            np.lib.format.write_array_header_1_0(f, header)
            for _ in range(64):  # one sample at a time: the generator stays small
                f.write(rng.normal(3.0, 2.0, size=(64, 128, 128)).astype(np.float32).tobytes())
    big64 = folder / "big64.npy"  # 256 MiB float64, (32, 64, 128, 128): issue #11's 1e8 + 1e-4·N(0,1)
    if not big64.exists():
        with open(big64, "wb") as f:
            header = np.lib.format.header_data_from_array_1_0(np.zeros((1,), np.float64))
            header["shape"] = (32, 64, 128, 128)
            np.lib.format.write_array_header_1_0(f, header)
            for _ in range(32):
                f.write((1e8 + 1e-4 * rng.normal(size=(64, 128, 128))).tobytes())
    small = folder / "small.npy"  # 1.3 KB, (4, 3, 5, 5) float32
    np.save(small, rng.normal(size=(4, 3, 5, 5)).astype(np.float32))
    big_json = folder / "big.json"  # about 10 MB of float64 text, (8192, 64)
    if not big_json.exists():
        big_json.write_text(json.dumps(rng.normal(size=(8192, 64)).tolist()))
    state = folder / "state.json"
    subprocess.run([ARGS.bnorm, "apply", str(big), "-o", str(folder / "warm.npy"), "--stats-out",
                    str(state)], check=True)
    return big, big64, small, big_json, state


def selected(title):
    return not ARGS.only or any(word.lower() in title.lower() for word in ARGS.only)


def make_checkpoint(folder):
    """A 1 GiB float32 torch.save checkpoint (peers/make_big_checkpoint.py) and a small input
    for its last BatchNorm2d(512), the layer whose records sit at the end of the file."""
    big = folder / "big_checkpoint.pt"
    if not big.exists():
        subprocess.run([PYTHON, HERE / "peers/make_big_checkpoint.py", big], check=True)
    x = folder / "checkpoint_x.npy"
    np.save(x, np.random.default_rng(1).normal(size=(8, 512, 4, 4)).astype(np.float32))
    return big, x


def make_onnx_model(folder):
    """The 113 MiB model of 50 Conv + BatchNormalization pairs (peers/make_big_onnx.py)."""
    model = folder / "big_conv_bn.onnx"
    if not model.exists():
        subprocess.run([PYTHON, HERE / "peers/make_big_onnx.py", model], check=True)
    return model


def folded_difference(ours, theirs):
    """How two folds of the same model differ: the largest |difference| between the weights
    and biases of their Conv nodes, in graph order (a created bias may be named otherwise), and
    whether every BatchNormalization is gone from both."""
    script = """
import sys
import numpy as np
import onnx
from onnx import numpy_helper
def convs(path):
    graph = onnx.load(path).graph
    values = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    left = sum(n.op_type == "BatchNormalization" for n in graph.node)
    return [[values[name] for name in n.input[1:]] for n in graph.node if n.op_type == "Conv"], left
(a, left_a), (b, left_b) = convs(sys.argv[1]), convs(sys.argv[2])
assert len(a) == len(b) and all(len(x) == len(y) for x, y in zip(a, b))
worst = max(float(np.max(np.abs(x.astype(np.float64) - y))) for p, q in zip(a, b) for x, y in zip(p, q))
print(worst, left_a, left_b)
"""
    out = subprocess.run([PYTHON, "-c", script, ours, theirs], check=True, capture_output=True,
                         text=True).stdout.split()
    return float(out[0]), int(out[1]), int(out[2])


def scenario(title, commands, runs, note=""):
    """Runs each command `runs` times, alternating between them, plus once under GNU time for
    its peak memory; returns a Markdown table (nothing when --only leaves it out)."""
    if not selected(title):
        return ""
    if ARGS.compare and commands[0][1][0] == ARGS.bnorm:
        name, argv = commands[0]
        commands = [commands[0], (f"{name}, {ARGS.compare_label}", [ARGS.compare, *argv[1:]]),
                    *commands[1:]]
    memory = {name: peak_memory(argv) for name, argv in commands}
    walls = {name: [] for name, _ in commands}
    for _ in range(runs):
        for (name, _), wall in zip(commands, wall_times([argv for _, argv in commands])):
            walls[name].append(wall)
    RESULTS[title] = {name: (statistics.median(walls[name]), memory[name]) for name, _ in commands}
    base_wall = statistics.median(walls[commands[0][0]])
    lines = [f"### {title}", ""]
    if note:
        lines += [note, ""]
    lines += ["| command | median wall | peak memory | wall ÷ bnorm |", "|---|---:|---:|---:|"]
    for name, _ in commands:
        wall = statistics.median(walls[name])
        lines.append(f"| {name} | {wall * 1000:.1f} ms | {memory[name]:.0f} MiB | "
                     f"{wall / base_wall:.2f} |")
    print("\n".join(lines) + "\n", flush=True)
    return "\n".join(lines) + "\n"


RESULTS = {}  # title -> {command name: (median wall, peak MiB)}, for the targets below


def runs_here(argv):
    """Whether this bnorm takes the command at all (a build before #15 takes no folder and no
    CSV): a scenario then leaves its row out rather than time an error."""
    return subprocess.run([str(a) for a in argv], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0


def target(title, ours, peer, text, ratio_at_least=None, ratio_at_most=None, memory_at_most=None):
    """One line: the issue's target for `ours` against `peer` in `title`, the measured ratio
    (peer's wall ÷ ours, or ours ÷ peer for "within") and whether it is met."""
    if title not in RESULTS:
        return ""
    rows = RESULTS[title]
    if ours not in rows:
        line = f"Target ({text}): not measured, this bnorm does not run the command."
    else:
        (wall, memory), (peer_wall, _) = rows[ours], rows[peer]
        checks = []
        if ratio_at_least is not None:
            ratio = peer_wall / wall
            checks.append((f"{ratio:.2f} × faster", ratio >= ratio_at_least))
        if ratio_at_most is not None:
            ratio = wall / peer_wall
            checks.append((f"{ratio:.2f} × {peer}'s time", ratio <= ratio_at_most))
        if memory_at_most is not None:
            checks.append((f"peak {memory:.0f} MiB", memory <= memory_at_most))
        met = all(ok for _, ok in checks)
        line = (f"Target ({text}): {', '.join(c for c, _ in checks)}: "
                f"{'met' if met else 'NOT MET'}.")
    print(line, flush=True)
    return "\n" + line + "\n"


def make_dataset(folder, files):
    """`files` .npy files of (1, 3, 32, 32) float32, one image each, in a folder of their own."""
    where = folder / f"dataset-{files}"
    if not (where / ".complete").exists():
        shutil.rmtree(where, ignore_errors=True)
        where.mkdir()
        rng = np.random.default_rng(files)
        scale = np.array([1.0, 2.0, 0.5], np.float32).reshape(1, 3, 1, 1)
        for i in range(files):
            np.save(where / f"{i:05d}.npy",
                    (rng.normal(size=(1, 3, 32, 32)).astype(np.float32) * scale + 0.5))
        (where / ".complete").touch()
    return where


def make_large_files(folder):
    """100 .npy files of 8 MiB, (8, 64, 64, 64) float32."""
    where = folder / "files-8mib"
    if not (where / ".complete").exists():
        shutil.rmtree(where, ignore_errors=True)
        where.mkdir()
        rng = np.random.default_rng(8)
        for i in range(100):
            np.save(where / f"{i:03d}.npy", rng.normal(size=(8, 64, 64, 64)).astype(np.float32))
        (where / ".complete").touch()
    return where, sorted(where.glob("*.npy"))


def make_csv(folder):
    """A CSV table of 16 columns with a header, float64 values written with 17 digits (as a
    program that keeps every bit writes them), until the file passes 100 MiB."""
    path = folder / "table-100mib.csv"
    if not path.exists():
        rng = np.random.default_rng(16)
        scales = np.logspace(-3, 3, 16)
        partial = path.with_suffix(".partial")
        with open(partial, "w") as f:
            f.write(",".join(f"feature_{j}" for j in range(16)) + "\n")
            while f.tell() < 100 * 2**20:
                np.savetxt(f, rng.normal(size=(20000, 16)) * scales + scales, fmt="%.17g",
                           delimiter=",")
        partial.rename(path)
    return path


def dataset_scenarios(folder):
    """Issue #15's numbers: a dataset's statistics in one process, beside the NumPy loop, `cat`
    and pandas."""
    bnorm, report = ARGS.bnorm, []
    for files in [1000, 10000]:
        title = f"dataset of {files:,} files of (1, 3, 32, 32) float32: per-channel statistics"
        if not selected(title):
            continue
        where = make_dataset(folder, files)
        ours = "bnorm stats DIR (one process)"
        commands = [(ours, [bnorm, "stats", where, "--format", "json"])]
        if not runs_here(commands[0][1]):
            commands = []
        if files == 1000:  # 10,000 processes would dominate the run, and say nothing new
            commands.append(("bnorm stats --partial per file + merge (before #15)",
                             [HERE / "peers/partial_loop.sh", bnorm, where, folder / "partials"]))
        commands.append(("NumPy loop", [PYTHON, HERE / "peers/numpy_dataset_stats.py", where]))
        note = ("One .npy file per image; the NumPy loop is bench/peers/numpy_dataset_stats.py "
                "(np.load each file, per-channel sums and sums of squares in float64).")
        table = scenario(title, commands, ARGS.runs, note)
        table += target(title, ours, "NumPy loop", "≥ 5 × faster than the NumPy loop"
                        + (", peak memory ≤ 64 MiB" if files == 10000 else ""),
                        ratio_at_least=5, memory_at_most=64 if files == 10000 else None)
        report.append(table)

    title = "dataset of 100 files of 8 MiB (8, 64, 64, 64) float32: per-channel statistics"
    if selected(title):
        where, paths = make_large_files(folder)
        ours = "bnorm stats FILES (one process)"
        commands = [(ours, [bnorm, "stats", *paths, "--format", "json"])]
        if not runs_here(commands[0][1]):
            commands = []
        commands += [("cat FILES > /dev/null", ["cat", *paths]),
                     ("NumPy loop", [PYTHON, HERE / "peers/numpy_dataset_stats.py", where])]
        note = "800 MiB in all, read warm from the page cache."
        table = scenario(title, commands, ARGS.runs, note)
        table += target(title, ours, "cat FILES > /dev/null", "within 1.3 × of cat",
                        ratio_at_most=1.3)
        report.append(table)

    title = "100 MiB CSV table of 16 columns: per-column statistics"
    if selected(title):
        path = make_csv(folder)
        ours = "bnorm stats table.csv"
        commands = [(ours, [bnorm, "stats", path, "--format", "json"])]
        if not runs_here(commands[0][1]):
            commands = []
        commands += [("pandas.read_csv + .mean()/.std()",
                      [PYTHON, HERE / "peers/pandas_csv_stats.py", path]),
                     ("cat table.csv > /dev/null", ["cat", path])]
        size = path.stat().st_size / 2**20
        note = (f"{size:.1f} MiB, a header row and float64 values of 17 significant digits "
                "(np.savetxt %.17g); pandas is Debian's python3-pandas, its C parser.")
        table = scenario(title, commands, ARGS.runs, note)
        table += target(title, ours, "pandas.read_csv + .mean()/.std()",
                        "≥ 3 × faster than pandas, peak memory ≤ 64 MiB", ratio_at_least=3,
                        memory_at_most=64)
        report.append(table)
    return report


def build_flags():
    """How the measured binary was built, from the CMake cache beside it."""
    cache = pathlib.Path(ARGS.bnorm).parent / "CMakeCache.txt"
    if not cache.exists():
        return "build flags unknown (no CMakeCache.txt beside the binary)"
    values = dict(line.split("=", 1) for line in cache.read_text().splitlines()
                  if "=" in line and not line.startswith(("#", "//")))
    get = lambda key: next((v for k, v in values.items() if k.split(":")[0] == key), "?")
    build_type = get("CMAKE_BUILD_TYPE")
    return (f"CMake {build_type} build ({get('CMAKE_CXX_FLAGS_' + build_type.upper()).strip()}, "
            f"no -march; BNORM_STATIC_RUNTIME={get('BNORM_STATIC_RUNTIME')})")


def method(runs):
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    compiler = subprocess.run(["g++", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    torch_version = subprocess.run([PYTHON, "-c", "import torch; print(torch.__version__)"],
                                   capture_output=True, text=True).stdout.strip() or "not installed"
    pandas_version = subprocess.run([PYTHON, "-c", "import pandas; print(pandas.__version__)"],
                                    capture_output=True, text=True).stdout.strip()
    return "\n".join([
        f"- date: {datetime.date.today()}; machine: {os.cpu_count()} cores, {cpu}, "
        f"Linux {platform.release()}",
        f"- bnorm: {build_flags()}, {compiler}",
        f"- peers: cp and cat (GNU coreutils), NumPy {np.__version__}, PyTorch {torch_version}, "
        f"pandas {pandas_version or 'not installed'}, "
        f"Python {platform.python_version()}",
        f"- each command run {runs} times, alternating between the commands of a scenario; "
        "median wall time of the whole process, each round one run of every command in turn, "
        "timed by hyperfine -N (no shell) after an untimed `sync` (hyperfine --prepare), so that "
        "no command pays for the previous one's write-back; peak resident memory from one more "
        "run under GNU time (%M)",
        "- inputs and outputs in the same folder, files in the page cache (every command reads "
        "them warm)",
        "",
    ])


def main():
    folder = pathlib.Path(ARGS.work)
    folder.mkdir(parents=True, exist_ok=True)
    report = ["# bnorm benchmarks", "", method(ARGS.runs)]
    report += dataset_scenarios(folder)
    single_file(folder, report)
    if ARGS.out:
        pathlib.Path(ARGS.out).write_text("\n".join(report))


def single_file(folder, report):
    """The scenarios of one tensor file, checkpoint and model."""
    if ARGS.only and all(word.lower() in ("dataset", "csv", "files") for word in ARGS.only):
        return  # their 256 MiB inputs are not made for nothing
    big, big64, small, big_json, state = make_inputs(folder)
    out = lambda name: str(folder / name)
    bnorm = ARGS.bnorm

    train = [("bnorm apply (train, --stats-out)",
              [bnorm, "apply", big, "-o", out("y.npy"), "--stats-out", out("s.json")]),
             ("cp", ["cp", big, out("cp.npy")]),
             ("NumPy script", [PYTHON, HERE / "peers/numpy_bn.py", big, out("np.npy")])]
    if have_torch():
        train.append(("PyTorch F.batch_norm", [PYTHON, HERE / "peers/torch_bn.py", big, out("t.npy")]))
    report.append(scenario("256 MiB float32 .npy (64, 64, 128, 128), train mode", train, ARGS.runs))

    evaluation = [("bnorm apply (eval)", [bnorm, "apply", big, "-o", out("y.npy"), "--mode", "eval",
                                          "--state", state]),
                  ("cp", ["cp", big, out("cp.npy")])]
    report.append(scenario("256 MiB float32 .npy, eval mode", evaluation, ARGS.runs))

    # float64 output is exact (double-double statistics and transform): its cost, beside cp.
    train64 = [("bnorm apply (train, --stats-out)",
                [bnorm, "apply", big64, "-o", out("y.npy"), "--stats-out", out("s.json")]),
               ("cp", ["cp", big64, out("cp.npy")]),
               ("NumPy script", [PYTHON, HERE / "peers/numpy_bn.py", big64, out("np.npy")])]
    if have_torch():
        train64.append(("PyTorch F.batch_norm",
                        [PYTHON, HERE / "peers/torch_bn.py", big64, out("t.npy")]))
    report.append(scenario("256 MiB float64 .npy (32, 64, 128, 128), train mode", train64,
                           ARGS.runs))
    eval64 = [("bnorm apply (eval)", [bnorm, "apply", big64, "-o", out("y.npy"), "--mode", "eval",
                                      "--state", state]),
              ("cp", ["cp", big64, out("cp.npy")])]
    report.append(scenario("256 MiB float64 .npy, eval mode", eval64, ARGS.runs))

    tiny = [("bnorm apply (train)", [bnorm, "apply", small, "-o", out("ys.npy")]),
            ("NumPy script", [PYTHON, HERE / "peers/numpy_bn.py", small, out("nps.npy")])]
    if have_torch():
        tiny.append(("PyTorch F.batch_norm", [PYTHON, HERE / "peers/torch_bn.py", small, out("ts.npy")]))
    report.append(scenario("1.3 KB float32 .npy (4, 3, 5, 5): start-up", tiny, ARGS.runs))

    text = [("bnorm apply (JSON in, JSON out)", [bnorm, "apply", big_json, "-o", out("y.json")]),
            ("Python json + NumPy", [PYTHON, HERE / "peers/json_bn.py", big_json, out("pj.json")])]
    size = big_json.stat().st_size / 1e6
    report.append(scenario(f"{size:.1f} MB JSON tensor (8192, 64), train mode", text, ARGS.runs))

    title = "1 GiB float32 torch.save checkpoint, one BatchNorm2d(512) layer's eval state"
    if have_torch() and selected(title):
        checkpoint, x = make_checkpoint(folder)
        prefix = "layers.113.bn."
        apply = [("bnorm apply --state big.pt (eval)",
                  [bnorm, "apply", x, "--state", checkpoint, "--state-prefix", prefix, "--mode",
                   "eval", "-o", out("yc.npy")]),
                 ("torch.load + F.batch_norm",
                  [PYTHON, HERE / "peers/torch_checkpoint_bn.py", checkpoint, prefix, x,
                   out("tc.npy")])]
        if ARGS.torch_only:
            apply = apply[1:]
        size = checkpoint.stat().st_size / 2**30
        note = (f"{size:.2f} GiB file (114 x Conv2d(512, 512, 3) + BatchNorm2d(512)), input "
                f"(8, 512, 4, 4) float32, the last layer ({prefix}), whose records are at the "
                "end of the file.")
        table = scenario(title, apply, ARGS.runs, note)
        if not ARGS.torch_only:
            y, t = np.load(out("yc.npy")), np.load(out("tc.npy"))
            agree = np.allclose(y, t, rtol=1e-5, atol=1e-5)
            table += (f"\nbnorm's output {'equals' if agree else 'DIFFERS FROM'} torch's "
                      f"(rtol 1e-5, atol 1e-5; max |difference| {np.max(np.abs(y - t)):.3g}).\n")
            print(table.splitlines()[-1])
        report.append(table)

    title = "113 MiB .onnx model, 50 Conv + BatchNormalization pairs: fold every BN"
    if selected(title):
        model = make_onnx_model(folder)
        fold = [("bnorm fold model.onnx -o out.onnx",
                 [bnorm, "fold", model, "-o", out("bnorm_folded.onnx")]),
                ("onnx.load + NumPy fold + onnx.save",
                 [PYTHON, HERE / "peers/onnx_fold.py", model, out("python_folded.onnx")])]
        size = model.stat().st_size / 2**20
        note = (f"{size:.1f} MiB file (50 x Conv(256, 256, 3x3), every other one without a bias, "
                "each followed by BatchNormalization and Relu; bench/peers/make_big_onnx.py); "
                "the Python side is bench/peers/onnx_fold.py (the fold in float64, rounded once "
                "to float32, as bnorm computes it).")
        table = scenario(title, fold, ARGS.runs, note)
        worst, left_ours, left_theirs = folded_difference(out("bnorm_folded.onnx"),
                                                          out("python_folded.onnx"))
        table += (f"\nBatchNormalization nodes left: bnorm {left_ours}, Python {left_theirs}; "
                  f"max |difference| between the two folds' Conv weights and biases: {worst:.3g}"
                  f"{' (bit for bit the same)' if worst == 0 else ''}.\n")
        print(table.splitlines()[-1])
        report.append(table)

    if not ARGS.keep:
        for name in ["y.npy", "s.json", "cp.npy", "np.npy", "t.npy", "y.json", "pj.json", "warm.npy",
                     "yc.npy", "tc.npy", "bnorm_folded.onnx", "python_folded.onnx"]:
            (folder / name).unlink(missing_ok=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bnorm", required=True, help="the bnorm binary to measure")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "bnorm-bench"),
                        help="folder for the inputs (kept between runs) and outputs")
    parser.add_argument("--out", help="also write the report to this Markdown file")
    parser.add_argument("--keep", action="store_true", help="keep the outputs")
    parser.add_argument("--compare", metavar="BNORM",
                        help="also run this other bnorm binary beside the first, in every scenario")
    parser.add_argument("--compare-label", metavar="TEXT",
                        help="how the report names the --compare binary (default: its path)")
    parser.add_argument("--only", action="append", metavar="WORD",
                        help="run only the scenarios whose title contains WORD (repeatable)")
    parser.add_argument("--torch-only", action="store_true",
                        help="in the checkpoint scenario, run only the PyTorch side")
    ARGS = parser.parse_args()
    ARGS.bnorm = str(pathlib.Path(ARGS.bnorm).resolve())
    if ARGS.compare:
        ARGS.compare = str(pathlib.Path(ARGS.compare).resolve())
        ARGS.compare_label = ARGS.compare_label or ARGS.compare
    main()
