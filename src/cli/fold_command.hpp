// SPDX-License-Identifier: Apache-2.0
// `bnorm fold`: an eval-mode batch normalization folded into the layer before it; or, for a
// model that holds a graph, every one it can be, each into its layer.
#pragma once

#include <string>

#include "batch_norm.hpp"
#include "cli11_forward.hpp"
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
  std::string format;  ///< a model's report: text or json
  layer_options layer;
  const CLI::App* command = nullptr;  ///< the parsed subcommand: which flags were given
};

CLI::App* add_fold_command(CLI::App& app, fold_options& options);

/// A model's batch normalizations folded into its layers.
struct fold_model_run {
  std::string model;
  const codec* format = nullptr;  ///< the model's: it has fold_model
  std::string output;             ///< empty: nothing written, the report alone
  bool json = false;              ///< the report as JSON, else text
};

/// What `fold` runs: the flags validated, every default resolved.
struct fold_run {
  /// A weight tensor (the flags below), a model (`model`), or either, as WEIGHT's first bytes
  /// tell: a WEIGHT whose name and --input-format tell no format (standard input).
  enum class kind { weight, model, told_by_bytes } what = kind::weight;
  bn_config config;
  tensor_route files;  ///< the weight in, the folded weight out
  std::string bias;    ///< empty: a bias of zeros
  std::string bias_out;
  const codec* bias_out_format = nullptr;  ///< null: WEIGHT's
  state_input state;
  fold_model_run model;
  fold_options options;  ///< for told_by_bytes: resolved once the bytes are read
};

/// Validates the flags, their formats and their paths, before any tensor is read.
fold_run resolve(const fold_options& options);

int run_fold(const fold_run& run);

}  // namespace bnorm::cli
