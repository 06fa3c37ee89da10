#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Replays one golden case against a bnorm binary.

    /usr/bin/python3 run_case.py BNORM CASE_DIR

Copies CASE_DIR into a temporary folder, runs every step of its case.json there (argv after
`bnorm`, relative file names) and checks:
  * the exit status; with a non-zero status, that stderr is one line "bnorm: error: ...";
  * every "stderr_contains" string is on stderr;
  * every "outputs" file: .npy -> dtype (with byte order), shape and fortran_order equal to the
    expected .npy, values within rtol/atol (NaN equals NaN); .json tensor -> shape and values;
    stats .json -> every key of the expected document (numbers and arrays within rtol/atol,
    per-key "key_tolerances" overriding; strings, integers, booleans and null exactly), and
    none of the "absent_keys";
  * every "absent" file does not exist after the step.
Exit status 0 when everything matches, 1 otherwise (with a description of every mismatch).
Needs NumPy only.
"""
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

MAX_REPORTED = 8  # mismatching elements listed per array


def npy_header(path):
    with open(path, "rb") as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            return np.lib.format.read_array_header_1_0(f)
        return np.lib.format.read_array_header_2_0(f)


def compare_arrays(label, got, expected, rtol, atol):
    """Elementwise |got-expected| <= atol + rtol*|expected|, NaN == NaN, inf == inf."""
    got = np.asarray(got, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if got.shape != expected.shape:
        return [f"{label}: shape {got.shape}, expected {expected.shape}"]
    close = np.isclose(got, expected, rtol=rtol, atol=atol, equal_nan=True)
    if close.all():
        return []
    bad = np.argwhere(~close)
    with np.errstate(invalid="ignore"):
        diff = np.abs(got - expected)
    lines = [f"{label}: {len(bad)} of {expected.size} values differ (rtol {rtol:g}, atol {atol:g})"]
    for index in bad[:MAX_REPORTED]:
        idx = tuple(int(i) for i in index)
        g, e = got[idx], expected[idx]
        where = "[" + ",".join(map(str, idx)) + "]" if idx else ""
        rel = diff[idx] / abs(e) if e not in (0.0,) and np.isfinite(e) else float("nan")
        lines.append(f"  {label}{where}: got {g!r}, expected {e!r} "
                     f"(abs diff {diff[idx]:.3g}, rel {rel:.3g})")
    if len(bad) > MAX_REPORTED:
        lines.append(f"  ... and {len(bad) - MAX_REPORTED} more")
    return lines


def load_json(path):
    # Python's json reads NaN, Infinity and -Infinity, as bnorm writes them.
    return json.loads(Path(path).read_text())


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def compare_stats(label, got, expected, rtol, atol, key_tolerances, absent_keys):
    if not isinstance(got, dict):
        return [f"{label}: not a JSON object"]
    errors = []
    for key, want in expected.items():
        name = f"{label}:{key}"
        if key not in got:
            errors.append(f"{name}: missing (expected {want!r})")
            continue
        have = got[key]
        k_rtol = key_tolerances.get(key, {}).get("rtol", rtol)
        k_atol = key_tolerances.get(key, {}).get("atol", atol)
        if isinstance(want, list):
            if not isinstance(have, list) or not all(is_number(v) for v in have):
                errors.append(f"{name}: got {have!r}, expected an array of numbers {want!r}")
            else:
                errors += compare_arrays(name, have, want, k_rtol, k_atol)
        elif want is None or isinstance(want, (str, bool)):
            if have != want or type(have) is not type(want):
                errors.append(f"{name}: got {have!r}, expected {want!r}")
        elif isinstance(want, int):  # counts, axis, num_batches_tracked: exact integers
            if not isinstance(have, int) or isinstance(have, bool) or have != want:
                errors.append(f"{name}: got {have!r}, expected the integer {want!r}")
        elif isinstance(want, float):
            if not is_number(have):
                errors.append(f"{name}: got {have!r}, expected the number {want!r}")
            else:
                errors += compare_arrays(name, have, want, k_rtol, k_atol)
        else:
            errors.append(f"{name}: unsupported expected value {want!r}")
    for key in absent_keys:
        if key in got:
            errors.append(f"{label}:{key}: present ({got[key]!r}) but must be absent")
    return errors


def check_output(workdir, check):
    produced = workdir / check["file"]
    expected_path = workdir / check["expected"]
    label = check["file"]
    rtol, atol = check["rtol"], check["atol"]
    if not produced.exists():
        return [f"{label}: not written"]
    if check["file"].endswith(".npy"):
        try:
            got_shape, got_fortran, got_dtype = npy_header(produced)
            got = np.load(produced, allow_pickle=False)
        except Exception as error:  # noqa: BLE001 - report any unreadable file
            return [f"{label}: not a readable .npy file: {error}"]
        want_shape, want_fortran, want_dtype = npy_header(expected_path)
        expected = np.load(expected_path)
        errors = []
        if got_dtype.str != want_dtype.str:
            errors.append(f"{label}: dtype {got_dtype.str}, expected {want_dtype.str}")
        if got_shape != want_shape:
            errors.append(f"{label}: shape {got_shape}, expected {want_shape}")
        if got_fortran != want_fortran:
            errors.append(f"{label}: fortran_order {got_fortran}, expected {want_fortran}")
        if got_shape == want_shape:
            errors += compare_arrays(label, got, expected, rtol, atol)
        return errors
    if check["file"].endswith(".json"):
        try:
            got = load_json(produced)
        except Exception as error:  # noqa: BLE001
            return [f"{label}: not valid JSON: {error}"]
        if check["expected"].endswith(".npy"):  # a tensor written as nested arrays
            expected = np.load(expected_path)
            try:
                got_array = np.array(got, dtype=np.float64)
            except (ValueError, TypeError) as error:
                return [f"{label}: not a rectangular array of numbers: {error}"]
            return compare_arrays(label, got_array, expected, rtol, atol)
        return compare_stats(label, got, load_json(expected_path), rtol, atol,
                             check.get("key_tolerances", {}), check.get("absent_keys", []))
    return [f"{label}: unknown output kind"]


def run_step(bnorm, workdir, number, step):
    args = [bnorm] + step["args"]
    shown = "bnorm " + " ".join(step["args"])
    try:
        proc = subprocess.run(args, cwd=workdir, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return [f"step {number} ({shown}): timed out"]
    errors = []
    if proc.returncode != step["status"]:
        errors.append(f"exit status {proc.returncode}, expected {step['status']}")
    if step["status"] != 0:
        lines = proc.stderr.splitlines()
        if len(lines) != 1 or not lines[0].startswith("bnorm: error: "):
            errors.append(f"stderr should be one line 'bnorm: error: ...', got {proc.stderr!r}")
    for text in step.get("stderr_contains", []):
        if text not in proc.stderr:
            errors.append(f"stderr lacks {text!r}: {proc.stderr!r}")
    if proc.returncode == step["status"]:
        for check in step.get("outputs", []):
            errors += check_output(workdir, check)
    for name in step.get("absent", []):
        if (workdir / name).exists():
            errors.append(f"{name}: exists but must not be written")
    if errors:
        header = [f"step {number}: {shown}"]
        if proc.returncode != step["status"] or proc.stderr:
            header.append(f"  (exit {proc.returncode}; stderr: {proc.stderr.strip()!r})")
        return header + ["  " + e for e in errors]
    return []


def main(argv):
    if len(argv) != 3:
        print("usage: run_case.py BNORM CASE_DIR", file=sys.stderr)
        return 2
    bnorm = str(Path(argv[1]).resolve())
    case_dir = Path(argv[2]).resolve()
    case = json.loads((case_dir / "case.json").read_text())
    name = case.get("name", case_dir.name)
    failures = []
    with tempfile.TemporaryDirectory(prefix=f"bnorm-golden-{case_dir.name}-") as tmp:
        workdir = Path(tmp) / case_dir.name
        shutil.copytree(case_dir, workdir)
        for number, step in enumerate(case["steps"], start=1):
            failures += run_step(bnorm, workdir, number, step)
    if failures:
        print(f"FAIL golden/{name}: {case.get('guards', '')}")
        for line in failures:
            print("  " + line)
        return 1
    print(f"PASS golden/{name} ({len(case['steps'])} step(s))")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
