# SPDX-License-Identifier: Apache-2.0
bnorm merge shard1.partial.json
