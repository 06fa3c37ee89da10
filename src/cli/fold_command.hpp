// `bnorm fold`: an eval-mode batch normalization folded into the layer before it.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "layer_flags.hpp"

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

int run_fold(const fold_options& options);

}  // namespace bnorm::cli
