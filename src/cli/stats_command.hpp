// `bnorm stats`: a batch's per-channel statistics as a table, JSON or CSV, and as a picture.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "batch_norm.hpp"
#include "channel_selection.hpp"
#include "formats/registry.hpp"
#include "layer_flags.hpp"
#include "state_input.hpp"

namespace bnorm::cli {

struct stats_options {
  std::string input;
  std::string after;  ///< a second input: the normalized output to show beside the input
  std::string input_format;
  std::string tensor;
  std::string format;  ///< table|json|csv; empty: table on a terminal, else json
  std::string channels;
  std::string plot;
  bool normalize_after = false;  ///< --after: normalize the input and show that too
  bool partial = false;          ///< --partial: mergeable count/mean/M2 as JSON
  layer_options layer;
  const CLI::App* command = nullptr;  ///< the parsed subcommand: which flags were given
};

CLI::App* add_stats_command(CLI::App& app, stats_options& options);

/// What stats prints on standard output.
enum class stats_report { table, json, csv, partial };

/// What `stats` runs: the flags validated, every default resolved.
struct stats_run {
  std::string input;
  const codec* input_format = nullptr;  ///< --input-format; null: told when it is opened
  std::string tensor;
  /// --partial decides, then --format, then the terminal: a table on one, else JSON.
  stats_report report = stats_report::json;
  channel_spec channels;  ///< its range is checked against the input's channels
  std::string plot;       ///< empty: no picture
  std::string after;      ///< a second input, drawn in the plot
  bool normalize_after = false;
  bn_config config;
  state_input state;  ///< for normalize_after
};

/// Validates the flags, the input's format and the paths, before any tensor is read; a
/// default that depends on the terminal is decided here, after the flags that override it.
stats_run resolve(const stats_options& options);

int run_stats(const stats_run& run);

}  // namespace bnorm::cli
