// SPDX-License-Identifier: Apache-2.0
// `bnorm layers`: every batch-normalization layer of a model's file of named tensors, its
// state summarized and its dead, broken and prunable channels counted, as a table, JSON or
// CSV, and as a picture.
#pragma once

#include <optional>
#include <string>

#include "cli11_forward.hpp"
#include "formats/registry.hpp"

namespace bnorm::cli {

struct layers_options {
  std::string model;
  std::string input_format;
  std::string format;  ///< table|json|csv; empty: table on a terminal, else json
  std::string gamma_threshold;
  std::string gamma_percentile;
  std::string prefix;
  std::string plot;
  const CLI::App* command = nullptr;  ///< the parsed subcommand: which flags were given
};

CLI::App* add_layers_command(CLI::App& app, layers_options& options);

enum class layers_report { table, json, csv };

/// |γ| below this is flagged: a hundredth of the 1 a layer starts from, where a channel's
/// output is all but its β.
inline constexpr double default_gamma_threshold = 1e-2;

/// What `layers` runs: the flags validated, every default resolved.
struct layers_run {
  std::string model;
  const codec* model_format = nullptr;  ///< --input-format; null: told when it is opened
  layers_report report = layers_report::json;
  double gamma_threshold = default_gamma_threshold;
  std::optional<double> gamma_percentile;  ///< when given, the threshold is this percentile
  std::optional<std::string> prefix;       ///< none: every layer
  std::string plot;                        ///< empty: no picture
};

layers_run resolve(const layers_options& options);

int run_layers(const layers_run& run);

}  // namespace bnorm::cli
