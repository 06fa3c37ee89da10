// SPDX-License-Identifier: Apache-2.0
#include "state_file.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include "error.hpp"
#include "json_document.hpp"
#include "partial_stats.hpp"

namespace bnorm {
namespace {

using json = nlohmann::ordered_json;

// Keys a statistics document carries besides the state itself.
constexpr std::array informational_keys{
    "convention",          "mode",         "eps",   "momentum", "momentum_meaning",
    "running_var_fed",     "axis",         "shape", "dtype",    "affine",
    "track_running_stats", "num_features", "count", "mean",     "var",
    "var_unbiased",        "std",          "min",   "max",      "nonfinite",
    "virtual_batch_size",  "files"};

std::vector<double> number_array(const json& value, const std::string& key) {
  if (!value.is_array()) throw data_error("key '" + key + "': expected an array of numbers");
  std::vector<double> numbers;
  numbers.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (!value[i].is_number()) {
      throw data_error("key '" + key + "': element " + std::to_string(i) + " is not a number");
    }
    numbers.push_back(value[i].get<double>());
  }
  if (numbers.empty()) throw data_error("key '" + key + "': the array is empty");
  return numbers;
}

json numbers(const std::vector<double>& values) {
  json array = json::array();
  for (double v : values) array.push_back(v);
  return array;
}

}  // namespace

state_file parse_state(std::string_view text) {
  const json document = parse_json_document(text);
  if (!document.is_object()) throw data_error("a state file must be a JSON object");
  state_file file;
  for (const auto& [key, value] : document.items()) {
    if (key == "weight") {
      file.state.weight = number_array(value, key);
    } else if (key == "bias") {
      file.state.bias = number_array(value, key);
    } else if (key == "running_mean") {
      file.state.running_mean = number_array(value, key);
    } else if (key == "running_var") {
      file.state.running_var = number_array(value, key);
    } else if (key == "num_batches_tracked") {
      if (!value.is_number_integer() || value.get<std::int64_t>() < 0) {
        throw data_error("key 'num_batches_tracked': expected a non-negative integer");
      }
      file.state.num_batches_tracked = value.get<std::int64_t>();
    } else if (key == "convention" && value.is_string()) {
      file.convention = value.get<std::string>();
    } else if (std::find(informational_keys.begin(), informational_keys.end(), key) ==
               informational_keys.end()) {
      // Quoted as JSON: a key holding a newline must not break the one-line message.
      throw data_error("unknown key " + json(key).dump() +
                       " (a state has weight, bias, running_mean, running_var, "
                       "num_batches_tracked)");
    }
  }
  return file;
}

json stats_document(const bn_plan& plan, const bn_result& result) {
  const bn_config& config = plan.config;
  const convention& conv = *config.conv;
  json doc;
  doc["convention"] = conv.name;
  doc["mode"] = config.mode == bn_mode::train ? "train" : "eval";
  doc["eps"] = config.eps;
  if (config.momentum) {
    doc["momentum"] = *config.momentum;
    doc["momentum_meaning"] = describe(conv.meaning);
  } else {
    doc["momentum"] = nullptr;
    doc["momentum_meaning"] = "cumulative average: weight 1/num_batches_tracked of the new batch";
  }
  doc["running_var_fed"] = describe(conv.fed_variance);
  doc["axis"] = plan.layout.axis;
  doc["shape"] = plan.input.shape;
  doc["dtype"] = name_of(plan.input.type);
  doc["affine"] = config.affine;
  if (config.virtual_batch_size > 0) doc["virtual_batch_size"] = config.virtual_batch_size;
  doc["track_running_stats"] = config.track_running_stats;
  doc["num_features"] = plan.layout.channels;
  // Values per channel behind the statistics: the whole batch's when this input is a shard.
  doc["count"] =
      plan.whole_batch.empty() ? plan.layout.count_per_channel() : plan.whole_batch.front().count;
  const auto& batch = result.batch;
  doc["mean"] = channel_column(batch, [](const channel_moments& m) { return m.mean; });
  doc["var"] = channel_column(batch, [](const channel_moments& m) { return m.var(); });
  doc["var_unbiased"] =
      channel_column(batch, [](const channel_moments& m) { return m.var_unbiased(); });
  doc["min"] = channel_column(batch, [](const channel_moments& m) { return m.min; });
  doc["max"] = channel_column(batch, [](const channel_moments& m) { return m.max; });
  doc["nonfinite"] = channel_column(batch, [](const channel_moments& m) { return m.nonfinite; });
  if (config.affine) {
    doc["weight"] = numbers(result.state.weight);
    doc["bias"] = numbers(result.state.bias);
  }
  if (config.track_running_stats) {
    doc["running_mean"] = numbers(result.state.running_mean);
    doc["running_var"] = numbers(result.state.running_var);
    doc["num_batches_tracked"] = result.state.num_batches_tracked;
  }
  return doc;
}

}  // namespace bnorm
