// SPDX-License-Identifier: Apache-2.0
// Folding an eval-mode batch normalization into the linear or convolution layer before it:
// the standard inference transform, one layer instead of two.
#pragma once

#include <vector>

#include "batch_norm.hpp"
#include "tensor_stream.hpp"

namespace bnorm {

/// Writes the folded weight w' = w·s per output channel, s = γ/√(running_var + eps), reading
/// `weight` (output channels along `axis`, usually 0: PyTorch's (out, in, …)) and returns the
/// folded bias b' = (b − running_mean)·s + β, with b = 0 when `bias` is empty.  `state` must
/// hold running_mean and running_var (else usage_error, fault::running_statistics_missing);
/// lengths are checked against the output channels (data_error prefixed with the names).
std::vector<double> fold_batch_norm(const tensor_source& weight, long long axis,
                                    const std::vector<double>& bias, const bn_config& config,
                                    bn_state state, tensor_sink& folded_weight,
                                    const std::string& weight_name = "weight",
                                    const std::string& state_name = "state");

}  // namespace bnorm
