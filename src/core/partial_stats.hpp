// SPDX-License-Identifier: Apache-2.0
// Statistics of a shard in a form that merges: per-channel count, mean and M2, so that a batch
// split across files or machines is measured piece by piece and combined exactly (Chan's
// update), as SyncBatchNorm combines devices.
#pragma once

#include <nlohmann/json.hpp>
#include <span>
#include <vector>

#include "channel_stats.hpp"

namespace bnorm {

/// One column of a statistics document: fn(m) for each channel's moments, as a JSON array.
template <typename Fn>
nlohmann::ordered_json channel_column(std::span<const channel_moments> channels, Fn&& fn) {
  nlohmann::ordered_json array = nlohmann::ordered_json::array();
  for (const channel_moments& m : channels) array.push_back(fn(m));
  return array;
}

/// The partial-statistics document: "partial": true, "num_features", and per channel
/// "count", "mean", "m2" (Σ(x − mean)²), "min", "max", "nonfinite"; with `variances`, also the
/// biased "var" and the unbiased "var_unbiased" they imply.  Where some M2 exceeds double's
/// range, also "m2_exponent": that M2 is m2·2^m2_exponent.
nlohmann::ordered_json partial_document(const std::vector<channel_moments>& channels,
                                        bool variances);

/// The channels of a partial-statistics document.  Throws data_error naming the key that is
/// missing or malformed, or with fault::not_partial_statistics without "partial": true.
std::vector<channel_moments> parse_partial(const nlohmann::ordered_json& document);

/// The statistics of a whole batch, for normalizing its shards: a partial-statistics document
/// (parse_partial), or a pooled statistics document of one file or many ("count" a number or
/// one per channel, "mean", "var", "min", "max", "nonfinite"; M2 taken as var·count).  Throws
/// data_error naming the key that is missing or malformed, and for a document of per-sample
/// statistics ("estimator": "per_sample") or of some channels only ("channels"), which are no
/// batch's statistics.
std::vector<channel_moments> parse_batch_statistics(const nlohmann::ordered_json& document);

/// Merges shards' statistics channel by channel, in the order given, by moments_tree's fixed
/// pairwise tree.  Throws data_error when their channel counts differ.
std::vector<channel_moments> merge_partials(
    const std::vector<std::vector<channel_moments>>& shards);

}  // namespace bnorm
