#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Quick start: install what building needs (not what the tests need: scripts/test.sh does),
# build the bnorm binary alone, and normalize a sample batch.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${BNORM_BUILD_DIR:-$root/build}
BNORM_TARGETS=bnorm "$root/scripts/setup.sh"

out=$build_dir/quickstart
mkdir -p "$out"
"$build_dir/bnorm" apply "$root/samples/batch.npy" -o "$out/batch_normalized.npy" \
  --stats-out "$out/stats.json"
echo "bnorm apply samples/batch.npy (train mode, PyTorch convention) wrote:"
echo "  $out/batch_normalized.npy  the normalized batch"
echo "  $out/stats.json            its per-channel statistics and updated running state"
echo "bnorm is $build_dir/bnorm; try '$build_dir/bnorm apply --help'."
