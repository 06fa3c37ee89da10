// SPDX-License-Identifier: Apache-2.0
// The backward pass of batch normalization, as PyTorch's autograd computes it: the gradient
// of the input from the gradient of the output, and the gradients of weight and bias.
#pragma once

#include <vector>

#include "batch_norm.hpp"
#include "tensor_stream.hpp"

namespace bnorm {

/// Gradients of the layer's parameters, per channel.
struct bn_gradients {
  std::vector<double> grad_weight;  ///< Σ grad_output · x̂
  std::vector<double> grad_bias;    ///< Σ grad_output
};

/// Writes grad_input for `plan`'s forward step over `input`, given `grad_output` (same shape
/// and memory order; checked), and returns the parameter gradients.  With batch statistics
/// (train mode, or no running statistics) the mean and variance depend on the input, so
///   grad_input = γ·invstd·(g − mean(g) − x̂·mean(g·x̂)),
/// and with running statistics grad_input = γ·invstd·g; x̂ = (x − μ)·invstd in both.
/// Streams: statistics of x, then the sums of g and g·x̂, then grad_input.  A plan for one
/// shard of a batch (whole_batch) is not supported: its gradient needs every shard's sums.
/// Throws data_error (prefixed with `grad_name`) when the shapes or orders differ.
bn_gradients run_backward(const bn_plan& plan, const tensor_source& input,
                          const tensor_source& grad_output, tensor_sink& grad_input,
                          const std::string& grad_name = "grad_output");

}  // namespace bnorm
