// `bnorm backward`: the gradient of a batch-normalization step, as PyTorch's autograd gives it.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "layer_flags.hpp"

namespace bnorm::cli {

struct backward_options {
  std::string input;
  std::string input_format;
  std::string tensor;
  std::string grad_output;
  std::string output;
  std::string output_format;
  std::string grads_out;
  layer_options layer;
};

CLI::App* add_backward_command(CLI::App& app, backward_options& options);

int run_backward(const backward_options& options);

}  // namespace bnorm::cli
