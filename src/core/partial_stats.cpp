// SPDX-License-Identifier: Apache-2.0
#include "partial_stats.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "count_text.hpp"
#include "dataset_stats.hpp"
#include "error.hpp"
#include "number_format.hpp"

namespace bnorm {
namespace {

using json = nlohmann::ordered_json;

const json& array_of(const json& document, const char* key, std::size_t size) {
  if (!document.contains(key)) throw data_error(std::string("missing key '") + key + "'");
  const json& value = document[key];
  if (!value.is_array() || value.size() != size) {
    throw data_error(std::string("key '") + key + "': expected an array of " +
                     count_text(size, "number"));
  }
  for (const json& item : value) {
    if (!item.is_number()) throw data_error(std::string("key '") + key + "': not a number");
  }
  return value;
}

// A channel's figures must tell one story: NaN or ±Inf among its values (nonfinite > 0) make
// its mean NaN or ±Inf and its M2 NaN, and without any the mean is finite and M2 a number (+inf
// where the squared deviations exceed double's range).  A document that says otherwise was
// not written by bnorm, and merging it would report a NaN mean with nonfinite 0.
void check_consistent(const channel_moments& m, std::size_t c) {
  std::string at = "[";  // built in steps: GCC 12 warns (-Wrestrict) on "[" + to_string
  at += std::to_string(c);
  at += ']';
  const auto text = [](double v) { return format_number(v, dtype::float64()); };
  if (m.nonfinite > m.count) {
    throw data_error("nonfinite" + at + " is " + std::to_string(m.nonfinite) + ", more than count" +
                     at + " (" + std::to_string(m.count) + ")");
  }
  if (m.count == 0) return;
  if (m.nonfinite == 0 && !std::isfinite(m.mean)) {
    throw data_error("mean" + at + " is " + text(m.mean) + ", but nonfinite" + at +
                     " counts no NaN or infinity");
  }
  if (m.nonfinite == 0 && std::isnan(m.m2)) {
    throw data_error("m2" + at + " is NaN, but nonfinite" + at + " counts no NaN or infinity");
  }
  if (m.nonfinite > 0 && std::isfinite(m.mean)) {
    throw data_error("mean" + at + " is " + text(m.mean) + ", but nonfinite" + at + " counts " +
                     count_text(m.nonfinite, "NaN or infinite value"));
  }
  if (m.nonfinite > 0 && !std::isnan(m.m2)) {
    throw data_error("m2" + at + " is " + text(m.m2) + ", but nonfinite" + at +
                     " counts NaN or infinite values, which make it NaN");
  }
}

// A count: an integer of JSON, not negative.
bool natural(const json& value) {
  return value.is_number_integer() && value.get<std::int64_t>() >= 0;
}

}  // namespace

json partial_document(const std::vector<channel_moments>& channels, bool variances) {
  json doc;
  doc["partial"] = true;
  doc["num_features"] = channels.size();
  doc["count"] = channel_column(channels, [](const channel_moments& m) { return m.count; });
  doc["mean"] = channel_column(channels, [](const channel_moments& m) { return m.mean; });
  doc["m2"] = channel_column(channels, [](const channel_moments& m) { return m.m2; });
  if (std::any_of(channels.begin(), channels.end(),
                  [](const channel_moments& m) { return m.m2_exponent != 0; })) {
    // M2 past double's range (the variance within it): m2 is scaled, M2 = m2·2^m2_exponent.
    doc["m2_exponent"] =
        channel_column(channels, [](const channel_moments& m) { return m.m2_exponent; });
  }
  doc["min"] = channel_column(channels, [](const channel_moments& m) { return m.min; });
  doc["max"] = channel_column(channels, [](const channel_moments& m) { return m.max; });
  doc["nonfinite"] = channel_column(channels, [](const channel_moments& m) { return m.nonfinite; });
  // float64 data's moments have low parts (mean + mean_low, m2 + m2_low): written only then,
  // so other documents are as before, and readers that do not know them still read the rest.
  if (std::any_of(channels.begin(), channels.end(),
                  [](const channel_moments& m) { return m.extended; })) {
    doc["mean_low"] = channel_column(channels, [](const channel_moments& m) { return m.mean_low; });
    doc["m2_low"] = channel_column(channels, [](const channel_moments& m) { return m.m2_low; });
  }
  if (variances) {
    doc["var"] = channel_column(channels, [](const channel_moments& m) { return m.var(); });
    doc["var_unbiased"] =
        channel_column(channels, [](const channel_moments& m) { return m.var_unbiased(); });
  }
  return doc;
}

std::vector<channel_moments> parse_partial(const json& document) {
  if (!document.is_object() || !document.contains("partial") || document["partial"] != true) {
    throw data_error(fault::not_partial_statistics, "not partial statistics",
                     " (no \"partial\": true)");
  }
  const json& count = document.contains("count") ? document["count"] : json();
  if (!count.is_array()) throw data_error("key 'count': expected an array of integers");
  const std::size_t channels = count.size();
  const json& mean = array_of(document, "mean", channels);
  const json& m2 = array_of(document, "m2", channels);
  const json& min = array_of(document, "min", channels);
  const json& max = array_of(document, "max", channels);
  const json& nonfinite = array_of(document, "nonfinite", channels);
  const json* m2_exponent =
      document.contains("m2_exponent") ? &array_of(document, "m2_exponent", channels) : nullptr;
  const bool extended = document.contains("mean_low") || document.contains("m2_low");
  const json& mean_low = extended ? array_of(document, "mean_low", channels) : json();
  const json& m2_low = extended ? array_of(document, "m2_low", channels) : json();
  std::vector<channel_moments> result(channels);
  for (std::size_t c = 0; c < channels; ++c) {
    if (!natural(count[c]) || !natural(nonfinite[c])) {
      throw data_error("count and nonfinite must be non-negative integers");
    }
    channel_moments& m = result[c];
    m.count = count[c].get<std::uint64_t>();
    m.mean = mean[c].get<double>();
    m.m2 = m2[c].get<double>();
    m.min = min[c].get<double>();
    m.max = max[c].get<double>();
    m.nonfinite = nonfinite[c].get<std::uint64_t>();
    if (extended) {
      m.extended = true;
      m.mean_low = mean_low[c].get<double>();
      m.m2_low = m2_low[c].get<double>();
    }
    if (m.m2 < 0) throw data_error("m2[" + std::to_string(c) + "] is negative");
    if (m2_exponent) {
      const json& e = (*m2_exponent)[c];
      if (!e.is_number_integer() || e.get<std::int64_t>() < 0 || e.get<std::int64_t>() > m2_scale) {
        throw data_error("m2_exponent must be integers from 0 to " + std::to_string(m2_scale));
      }
      m.m2_exponent = static_cast<int>(e.get<std::int64_t>());
    }
    check_consistent(m, c);
  }
  return result;
}

std::vector<channel_moments> parse_batch_statistics(const json& document) {
  if (!document.is_object() || document.contains("partial")) return parse_partial(document);
  if (document.contains("estimator") && document["estimator"] == "per_sample") {
    throw data_error(
        "per-sample statistics (\"estimator\": \"per_sample\") average each sample's, which "
        "is no batch's mean and variance");
  }
  if (document.contains("channels")) {
    throw data_error(
        "the statistics of some channels only (\"channels\"): a batch's statistics need every "
        "channel");
  }
  // Neither kind: parse_partial's refusal says what was expected.
  if (!document.contains("mean") || !document.contains("var")) return parse_partial(document);
  const json& mean_column = document["mean"];
  if (!mean_column.is_array()) throw data_error("key 'mean': expected an array of numbers");
  const std::size_t channels = mean_column.size();
  const json& mean = array_of(document, "mean", channels);
  const json& var = array_of(document, "var", channels);
  const json& min = array_of(document, "min", channels);
  const json& max = array_of(document, "max", channels);
  const json& nonfinite = array_of(document, "nonfinite", channels);
  if (!document.contains("count")) throw data_error("missing key 'count'");
  const json& count = document["count"];
  if (count.is_array()
          ? count.size() != channels || !std::all_of(count.begin(), count.end(), natural)
          : !natural(count)) {
    throw data_error("key 'count': expected a non-negative integer, or one per channel");
  }
  std::vector<channel_moments> result(channels);
  for (std::size_t c = 0; c < channels; ++c) {
    if (!natural(nonfinite[c])) throw data_error("nonfinite must be non-negative integers");
    channel_moments& m = result[c];
    m.count = (count.is_array() ? count[c] : count).get<std::uint64_t>();
    m.mean = mean[c].get<double>();
    const double v = var[c].get<double>();
    if (v < 0) throw data_error("var[" + std::to_string(c) + "] is negative");
    m.m2 = v * static_cast<double>(m.count);
    m.min = min[c].get<double>();
    m.max = max[c].get<double>();
    m.nonfinite = nonfinite[c].get<std::uint64_t>();
    check_consistent(m, c);
  }
  return result;
}

std::vector<channel_moments> merge_partials(
    const std::vector<std::vector<channel_moments>>& shards) {
  moments_tree tree;
  for (std::size_t s = 0; s < shards.size(); ++s) {
    if (shards[s].size() != shards.at(0).size()) {
      throw data_error("shard " + std::to_string(s + 1) + " has " +
                       count_text(shards[s].size(), "channel") + ", the first has " +
                       std::to_string(shards[0].size()));
    }
    tree.push(shards[s]);
  }
  return tree.total();
}

}  // namespace bnorm
