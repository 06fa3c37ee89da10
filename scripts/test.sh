#!/usr/bin/env bash
# The whole test suite: install what is missing, build, run every test with CTest.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${BNORM_BUILD_DIR:-$root/build}
"$root/scripts/setup.sh"
ctest --test-dir "$build_dir" --output-on-failure -j"$(nproc)"
