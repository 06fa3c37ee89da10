#!/usr/bin/env bash
# The whole test suite: install what is missing, build, then
#   1. every test (unit, golden, CLI) on the Release build,
#   2. the same tests on the `dev` build, under AddressSanitizer and UBSan,
#   3. each fuzzer for BNORM_FUZZ_SECONDS (default 30) from the committed seeds.
# Ends with one line "suite: N passed, M failed" over all of them.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${BNORM_BUILD_DIR:-$root/build}
"$root/scripts/setup.sh" || exit 1
cd "$root"

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

echo "== tests under AddressSanitizer and UndefinedBehaviorSanitizer (dev preset)"
dev_log=$(mktemp)
if cmake --preset dev >"$dev_log" 2>&1 && cmake --build --preset dev -j"$(nproc)" >>"$dev_log" 2>&1; then
  run_ctest "$root/build-dev"
else
  cat "$dev_log"
  failed=$((failed + 1))
fi
rm -f "$dev_log"

# Ten fuzzers at 30 s keep this step under the six minutes eight took at 45 s; the campaigns of
# 30 minutes and more are run apart, on each reader's final code.
echo "== fuzzers, ${BNORM_FUZZ_SECONDS:-30} s each"
for target in npy json_tensor state npz safetensors sniffed pickle torch onnx onnx_fold csv; do
  if tests/fuzz/run_fuzzers.sh "${BNORM_FUZZ_SECONDS:-30}" "$target"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
  fi
done

echo "suite: $passed passed, $failed failed"
((failed == 0))
