// SPDX-License-Identifier: Apache-2.0
#include <bnorm/partial_statistics.hpp>

#include "dataset_stats.hpp"
#include "error.hpp"
#include "json_document.hpp"
#include "partial_stats.hpp"
#include "passes.hpp"
#include "public_types.hpp"
#include "source_file.hpp"

namespace bnorm {

namespace {

std::vector<channel_moments> parse_document(const std::string& text, const std::string& name) {
  try {
    return parse_partial(parse_json_document(text));
  } catch (const data_error& e) {
    throw data_error(e, name + ": ");
  }
}

}  // namespace

std::string partial_statistics(const std::string& path, long long axis, const file_options& files) {
  lib::source_file in(path, files);
  const tensor_info& info = in.source().info();
  const channel_layout layout = batch_layout(info, axis, path);
  // The fields of `bnorm stats --partial`'s document, in its order.
  nlohmann::ordered_json doc;
  doc["file"] = path;
  doc["dtype"] = name_of(info.type);
  doc["shape"] = info.shape;
  doc["axis"] = layout.axis;
  doc.update(partial_document(channel_moments_of(in.source(), layout), false));
  return format_json_document(doc);
}

std::string merge_statistics(const std::vector<std::string>& partial_documents) {
  moments_tree tree;
  std::size_t channels = 0;
  for (std::size_t i = 0; i < partial_documents.size(); ++i) {
    const std::string name = "partial statistics " + std::to_string(i + 1);
    std::vector<channel_moments> shard = parse_document(partial_documents[i], name);
    if (i == 0) channels = shard.size();
    if (shard.size() != channels) {
      throw data_error(name + ": " + std::to_string(shard.size()) +
                       " channels, but partial statistics 1 has " + std::to_string(channels));
    }
    tree.push(std::move(shard));
  }
  if (partial_documents.empty()) throw usage_error("no partial statistics to merge");
  nlohmann::ordered_json doc = partial_document(tree.total(), true);
  doc["shards"] = partial_documents.size();
  return format_json_document(doc);
}

std::vector<channel_statistics> read_partial_statistics(const std::string& partial_document) {
  return lib::public_statistics(parse_document(partial_document, "partial statistics"));
}

}  // namespace bnorm
