#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# One set-up for every entry point (quick start, tests, CI): install what is missing from
# Debian's packages, then configure and build.  Idempotent: packages already present are
# not asked for again, and an existing build folder is reused.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${BNORM_BUILD_DIR:-$root/build}

# What the build and the test suite need.  python3-numpy is the reference the tests compare
# against; clang and its runtime build the fuzzers; chromium renders `bnorm stats --plot`'s
# SVG in a test; GNU parallel runs the README's sharded-statistics recipe in a test; groff-base
# and man-db render the generated man page in a test; dpkg-dev (dpkg-shlibdeps) computes the
# .deb's Depends for `cpack -G DEB`, which a test builds, and `file` checks it is stripped.
# zsh (19 MB with its function library) runs the zsh completion in a test, as bash runs
# bash's.  libonnx-dev gives ONNX's schema (onnx.proto), which protoc (protobuf-compiler)
# compiles and libprotobuf-dev's static library runs; python3-onnx builds the test models and
# checks folded ones, and libonnx-testdata's batch-norm cases are golden cases.
# python3-torch (PyTorch 1.13) is the reference of the grid tests, which compare bnorm with
# torch.nn.functional.batch_norm live over layouts, dtypes and special values; the committed
# golden files are regenerated with it too.
packages=(cmake make g++ pkg-config
          libcli11-dev nlohmann-json3-dev xtensor-dev xtl-dev libxsimd-dev
          libfast-float-dev zlib1g-dev doctest-dev python3 python3-numpy python3-torch
          libonnx-dev libprotobuf-dev protobuf-compiler python3-onnx libonnx-testdata
          clang libclang-rt-14-dev chromium parallel
          groff-base man-db dpkg-dev file zsh)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ $status == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  sudo=()
  ((EUID == 0)) || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

# The build's chatter goes to a log that is shown only when something fails.
mkdir -p "$build_dir"
log=$build_dir/setup.log
if ! { cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release &&
       cmake --build "$build_dir" -j"$(nproc)"; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "setup: build failed (log: $log)" >&2
  exit 1
fi
