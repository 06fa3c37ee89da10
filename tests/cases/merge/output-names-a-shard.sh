# SPDX-License-Identifier: Apache-2.0
# The merged statistics may replace a shard's file: -o may name a PARTIAL.
bnorm merge shard1.partial.json shard2.partial.json -o shard1.partial.json &&
  cat shard1.partial.json
