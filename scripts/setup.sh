#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs what building and running bnorm need (missing Debian packages only), then configures
# and builds.  The quick start and the test command both start here; the test command passes
# what only its tests need in BNORM_EXTRA_PACKAGES, so that apt runs once for both.
# Idempotent: packages already present are not asked for again, apt-get update runs only when
# something is missing, and an existing build folder is reused.
#   BNORM_BUILD_DIR  the build folder (default: build/ in the checkout)
#   BNORM_TARGETS    the targets to build, space-separated (default: all)
#   BNORM_EXTRA_PACKAGES  more packages to install in the same apt run
#   BNORM_CMAKE_ARGS      more arguments to the configure step (e.g. -DBNORM_BUILD_TESTS=ON)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${BNORM_BUILD_DIR:-$root/build}

# What the build needs, and nothing only the tests need (those are scripts/test.sh's list).
# The header-only libraries (CLI11, nlohmann/json, xtensor with xtl and xsimd, fast_float) are
# compiled in; zlib inflates .npz members; libonnx-dev gives ONNX's schema (onnx.proto), which
# protoc (protobuf-compiler) compiles and libprotobuf-dev's static library runs.
packages=(cmake make g++ pkg-config
          libcli11-dev nlohmann-json3-dev xtensor-dev xtl-dev libxsimd-dev
          libfast-float-dev zlib1g-dev libonnx-dev libprotobuf-dev protobuf-compiler)
read -r -a extra <<<"${BNORM_EXTRA_PACKAGES:-}"

missing=()
for p in "${packages[@]}" "${extra[@]}"; do
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

read -r -a cmake_args <<<"${BNORM_CMAKE_ARGS:-}"
read -r -a targets <<<"${BNORM_TARGETS:-}"
target_args=()
((${#targets[@]})) && target_args=(--target "${targets[@]}")
# The build's chatter goes to a log that is shown only when something fails.
mkdir -p "$build_dir"
log=$build_dir/setup.log
if ! { cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release "${cmake_args[@]}" &&
       cmake --build "$build_dir" -j"$(nproc)" "${target_args[@]}"; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "setup: build failed (log: $log)" >&2
  exit 1
fi
