// SPDX-License-Identifier: Apache-2.0
// `bnorm backward`: the gradient of a batch-normalization step, as PyTorch's autograd gives it.
#pragma once

#include <string>

#include "batch_norm.hpp"
#include "cli11_forward.hpp"
#include "layer_flags.hpp"
#include "state_input.hpp"
#include "tensor_pipeline.hpp"

namespace bnorm::cli {

struct backward_options {
  std::string input;
  std::string input_format;
  std::string tensor;
  std::string missing;  ///< --missing as typed
  std::string grad_output;
  std::string output;
  std::string output_format;
  std::string grads_out;
  layer_options layer;
};

CLI::App* add_backward_command(CLI::App& app, backward_options& options);

/// What `backward` runs: the flags validated, every default resolved.
struct backward_run {
  bn_config config;
  tensor_route files;
  std::string grad_output;
  std::string grads_out;  ///< empty: none
  state_input state;
};

/// Validates the flags, their formats and their paths, before any tensor is read.
backward_run resolve(const backward_options& options);

int run_backward(const backward_run& run);

}  // namespace bnorm::cli
