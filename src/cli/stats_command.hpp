// SPDX-License-Identifier: Apache-2.0
// `bnorm stats`: a batch's per-channel statistics as a table, JSON or CSV, and as a picture.
#pragma once

#include <string>

#include "batch_norm.hpp"
#include "channel_selection.hpp"
#include "cli11_forward.hpp"
#include "formats/registry.hpp"
#include "input_list.hpp"
#include "layer_flags.hpp"
#include "state_input.hpp"

namespace bnorm::cli {

struct stats_options {
  input_list_options inputs;
  std::string beside;  ///< --beside: a second tensor to draw beside the input in --plot
  std::string input_format;
  std::string tensor;
  std::string missing;  ///< --missing as typed
  std::string format;   ///< table|json|csv|normalize; empty: table on a terminal, else json
  std::string channels;
  std::string plot;
  bool normalize_after = false;  ///< --after: normalize the input and show that too
  bool partial = false;          ///< --partial: mergeable count/mean/M2 as JSON
  bool per_sample = false;       ///< --per-sample: the mean of the samples' means and stds
  unsigned threads = 0;          ///< --threads; 0: every core
  layer_options layer;
  const CLI::App* command = nullptr;  ///< the parsed subcommand: which flags were given
};

CLI::App* add_stats_command(CLI::App& app, stats_options& options);

/// What stats prints on standard output.
enum class stats_report { table, json, csv, partial, normalize };

/// What `stats` runs: the flags validated, every default resolved.
struct stats_run {
  std::vector<std::string> inputs;      ///< one: a tensor's statistics; more: a dataset's
  const codec* input_format = nullptr;  ///< --input-format; null: told when it is opened
  std::string tensor;
  read_options reading;  ///< --missing
  /// --partial decides, then --format, then the terminal: a table on one, else JSON.
  stats_report report = stats_report::json;
  channel_spec channels;  ///< its range is checked against the input's channels
  std::string plot;       ///< empty: no picture
  std::string beside;     ///< a second tensor, drawn in the plot
  bool normalize_after = false;
  bool per_sample = false;
  unsigned threads = 1;
  bn_config config;
  state_input state;  ///< for normalize_after
};

/// Validates the flags, the input's format and the paths, before any tensor is read; a
/// default that depends on the terminal is decided here, after the flags that override it.
stats_run resolve(const stats_options& options);

int run_stats(const stats_run& run);

}  // namespace bnorm::cli
