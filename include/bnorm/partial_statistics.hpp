// SPDX-License-Identifier: Apache-2.0
// Statistics of a batch measured in shards and merged exactly (Chan's update), as
// `bnorm stats --partial` and `bnorm merge` do, in their JSON documents.
#pragma once

#include <string>
#include <vector>

#include <bnorm/batch_norm.hpp>
#include <bnorm/file_batch_norm.hpp>

namespace bnorm {

/// The partial-statistics document (JSON text, as `bnorm stats --partial` writes it) of a
/// tensor file along the channel axis `axis`: per channel count, mean, M2, min, max and
/// nonfinite, which merge exactly.  Throws data_error or io_error.
std::string partial_statistics(const std::string& path, long long axis = 1,
                               const file_options& files = {});

/// Shards' partial documents merged into the whole batch's, as `bnorm merge` writes it: in
/// the order given, by a fixed pairwise tree, itself a partial document.  Throws data_error
/// for a document that is not partial statistics, or channel counts that differ.
std::string merge_statistics(const std::vector<std::string>& partial_documents);

/// The per-channel statistics a partial (or merged) document states.  Throws data_error.
std::vector<channel_statistics> read_partial_statistics(const std::string& partial_document);

}  // namespace bnorm
