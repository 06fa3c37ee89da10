#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The whole test suite: install what is missing, build, then
#   1. every test (unit, golden, CLI) on the Release build,
#   2. the same tests on the `dev` build, under AddressSanitizer and UBSan,
#   3. each fuzzer for BNORM_FUZZ_SECONDS (default 20) from the committed seeds.
# Ends with one line "suite: N passed, M failed" over all of them.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${BNORM_BUILD_DIR:-$root/build}
# Eleven fuzzers at 20 s (3.7 minutes) cost less than ten at 30 s did, which keeps CI under its
# 25 minutes; the campaigns of 30 minutes and more are run apart, on each reader's final code.
: "${BNORM_FUZZ_SECONDS:=20}"
# Each step's seconds, for CI's budget of 25 minutes (bash's SECONDS counts from the start).
step_start=$SECONDS
# What only the tests need, not the build (so not in scripts/setup.sh's list), installed by
# setup.sh in the same apt run as the build's, when missing.  doctest runs the unit tests;
# python3 with NumPy, pandas, PyTorch 1.13 (python3-torch) and ONNX (python3-onnx) is the
# reference the tests compare against and builds their models; libonnx-testdata's batch-norm
# cases are golden cases; clang and its runtime build the fuzzers; chromium renders
# `bnorm stats --plot`'s SVG; GNU parallel and rsync run docs/GUIDE.md's recipes (rsync copies
# --transferfile/--return over ssh) and openssh-server is the sshd of test_multi_host;
# groff-base and man-db render the generated man page; dpkg-dev (dpkg-shlibdeps) computes the
# .deb's Depends for `cpack -G DEB`, `file` checks it is stripped and lintian checks it; zsh
# runs the zsh completion, as bash runs bash's.
test_packages=(doctest-dev python3 python3-numpy python3-pandas python3-torch python3-onnx
               libonnx-testdata clang libclang-rt-14-dev chromium parallel rsync openssh-server
               groff-base man-db dpkg-dev file lintian zsh)
BNORM_EXTRA_PACKAGES="${test_packages[*]}" BNORM_CMAKE_ARGS=-DBNORM_BUILD_TESTS=ON \
  "$root/scripts/setup.sh" || exit 1
cd "$root"
step_done() { echo "-- $1: $((SECONDS - step_start)) s"; step_start=$SECONDS; }
step_done "set-up and Release build"

passed=0 failed=0
# Runs ctest in $1, echoing its output, and adds its counts to the totals.
run_ctest() {
  local log
  log=$(mktemp)
  ctest --test-dir "$1" --output-on-failure -j"$(nproc)" 2>&1 | tee "$log"
  local line
  line=$(grep -E "tests passed, [0-9]+ tests failed out of [0-9]+" "$log" | tail -n 1)
  rm -f "$log"
  if [[ $line =~ ([0-9]+)\ tests\ failed\ out\ of\ ([0-9]+) ]]; then
    failed=$((failed + BASH_REMATCH[1]))
    passed=$((passed + BASH_REMATCH[2] - BASH_REMATCH[1]))
  else
    failed=$((failed + 1))  # ctest itself did not run
  fi
}

echo "== tests (Release)"
run_ctest "$build_dir"
step_done "Release tests"

echo "== tests under AddressSanitizer and UndefinedBehaviorSanitizer (dev preset)"
dev_log=$(mktemp)
if cmake --preset dev >"$dev_log" 2>&1 && cmake --build --preset dev -j"$(nproc)" >>"$dev_log" 2>&1; then
  step_done "dev build"
  run_ctest "$root/build-dev"
  step_done "dev tests"
else
  cat "$dev_log"
  failed=$((failed + 1))
fi
rm -f "$dev_log"

# The fuzzers, each for BNORM_FUZZ_SECONDS (its default is set at the top).
echo "== fuzzers, ${BNORM_FUZZ_SECONDS:-30} s each"
for target in npy json_tensor state npz safetensors sniffed pickle torch onnx onnx_fold csv; do
  if tests/fuzz/run_fuzzers.sh "${BNORM_FUZZ_SECONDS:-30}" "$target"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
  fi
done

step_done "fuzz build and fuzzers"
echo "-- in all: $SECONDS s"
echo "suite: $passed passed, $failed failed"
((failed == 0))
