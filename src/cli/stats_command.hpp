// `bnorm stats`: a batch's per-channel statistics as a table, JSON or CSV, and as a picture.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "layer_flags.hpp"

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

int run_stats(const stats_options& options);

}  // namespace bnorm::cli
