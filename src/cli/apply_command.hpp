// `bnorm apply`: normalize a tensor file with one batch-normalization step.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "layer_flags.hpp"

namespace bnorm::cli {

/// The flags of `apply` as typed; numbers stay text until validated.
struct apply_options {
  std::string input;
  std::string output;
  std::string input_format;
  std::string tensor;
  std::string output_format;
  std::string stats_out;
  std::string batch_stats;
  std::string virtual_batch_size;
  layer_options layer;
};

/// Adds the `apply` subcommand and its flags to `app`, storing into `options`.
CLI::App* add_apply_command(CLI::App& app, apply_options& options);

/// Runs `apply`; returns the exit status or throws bnorm::error.
int run_apply(const apply_options& options);

}  // namespace bnorm::cli
