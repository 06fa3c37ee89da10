#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the libFuzzer targets (the `fuzz` preset: clang, ASan, UBSan) and runs each for
# SECONDS (default 60) from the committed seeds.  New inputs go to build-fuzz/corpus/, never
# back into the source tree; a crash leaves its input in build-fuzz/findings/ and fails.
#   usage: tests/fuzz/run_fuzzers.sh [SECONDS] [TARGET...]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
seconds=${1:-60}
shift || true
targets=("$@")
((${#targets[@]})) || targets=(npy json_tensor state npz safetensors sniffed pickle torch onnx onnx_fold csv)
build=${BNORM_FUZZ_BUILD_DIR:-$root/build-fuzz}

if ! command -v clang++ >/dev/null; then
  sudo=(); ((EUID == 0)) || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq clang libclang-rt-dev >/dev/null
fi
cd "$root"
cmake --preset fuzz -B "$build" >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null

mkdir -p "$build/findings"
# A small quarantine keeps ASan's own memory from counting against the limits below, which
# are the ones issue #3 sets for every bad input: no allocation over 256 MiB.
export ASAN_OPTIONS=quarantine_size_mb=16:detect_leaks=1
status=0
for target in "${targets[@]}"; do
  corpus=$build/corpus/$target
  mkdir -p "$corpus"
  echo "fuzz_$target: ${seconds}s"
  if ! "$build/tests/fuzz/fuzz_$target" "$corpus" "$root/tests/fuzz/corpus/$target" \
      -max_total_time="$seconds" -rss_limit_mb=512 -malloc_limit_mb=256 -timeout=10 \
      -artifact_prefix="$build/findings/$target-" -print_final_stats=1 2>"$build/fuzz_$target.log"; then
    status=1
    tail -n 40 "$build/fuzz_$target.log"
  fi
  grep -E "stat::number_of_executed_units|Done [0-9]+ runs" "$build/fuzz_$target.log" | tail -n 2
done
exit $status
