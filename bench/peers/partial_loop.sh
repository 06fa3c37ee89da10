#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# How a folder's statistics were taken before #15: one `bnorm stats --partial` process per
# file, then one `merge`.   usage: partial_loop.sh BNORM FOLDER SCRATCH
set -euo pipefail
bnorm=$1 folder=$2 scratch=$3
rm -rf "$scratch" && mkdir -p "$scratch"
for f in "$folder"/*.npy; do
  name=${f##*/}
  "$bnorm" stats "$f" --partial > "$scratch/${name%.npy}.json"
done
"$bnorm" merge "$scratch"/*.json -o "$scratch/total.json"
