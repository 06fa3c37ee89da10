// `bnorm fold`: an eval-mode batch normalization folded into the layer before it.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "batch_norm.hpp"
#include "layer_flags.hpp"
#include "state_input.hpp"
#include "tensor_pipeline.hpp"

namespace bnorm::cli {

struct fold_options {
  std::string weight;
  std::string input_format;
  std::string tensor;
  std::string bias;
  std::string output;
  std::string output_format;
  std::string bias_out;
  layer_options layer;
};

CLI::App* add_fold_command(CLI::App& app, fold_options& options);

/// What `fold` runs: the flags validated, every default resolved.
struct fold_run {
  bn_config config;
  tensor_route files;  ///< the weight in, the folded weight out
  std::string bias;    ///< empty: a bias of zeros
  std::string bias_out;
  const codec* bias_out_format = nullptr;  ///< null: WEIGHT's
  state_input state;
};

/// Validates the flags, their formats and their paths, before any tensor is read.
fold_run resolve(const fold_options& options);

int run_fold(const fold_run& run);

}  // namespace bnorm::cli
