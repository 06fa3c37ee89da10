// SPDX-License-Identifier: Apache-2.0
// Batch normalization of a tensor held in memory, for programs that link bnorm_core and for
// tests: the same planning and passes as files get, over an xtensor array.
#pragma once

#include <xtensor/xarray.hpp>

#include "batch_norm.hpp"

namespace bnorm {

/// One step on `x` (row-major).  `state` is read, completed and replaced by the state after
/// the step; `batch`, when given, receives the batch statistics.  Throws as plan_batch_norm.
xt::xarray<double> batch_norm(const xt::xarray<double>& x, const bn_config& config, bn_state& state,
                              std::vector<channel_moments>* batch = nullptr);

}  // namespace bnorm
