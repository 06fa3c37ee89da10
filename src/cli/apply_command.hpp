// `bnorm apply`: normalize a tensor file with one batch-normalization step.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "batch_norm.hpp"
#include "layer_flags.hpp"
#include "state_input.hpp"
#include "tensor_pipeline.hpp"

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

/// What `apply` runs: the flags validated, every default resolved.
struct apply_run {
  bn_config config;  ///< --virtual-batch-size included
  tensor_route files;
  state_input state;
  std::string stats_out;  ///< empty: none
  /// --stats-out names the --state file of tensors: only the layer's tensors are replaced.
  bool update_in_place = false;
  std::string batch_stats;  ///< empty: the input's own statistics
};

/// Validates the flags, their formats and their paths, before any tensor is read.  Throws
/// usage_error for a contradiction, io_error for a directory given as a file.
apply_run resolve(const apply_options& options);

/// Runs `apply`; returns the exit status or throws bnorm::error.
int run_apply(const apply_run& run);

}  // namespace bnorm::cli
