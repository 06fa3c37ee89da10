// SPDX-License-Identifier: Apache-2.0
// Batch normalization of a tensor held in memory, for programs that link bnorm_core and for
// tests: the same planning and passes as files get, over values in memory.
#pragma once

#include <vector>
#include <xtensor/xarray.hpp>

#include "batch_norm.hpp"

namespace bnorm {

/// One step on `values`, the elements of a tensor described by `info` (row-major), as doubles;
/// `info`'s dtype chooses the arithmetic (float64's double-double moments).  Returns the output
/// as doubles, not yet rounded to the dtype.  `state` is read, completed and replaced by the
/// state after the step; `batch`, when given, receives the batch statistics.  Throws as
/// plan_batch_norm.
std::vector<double> batch_norm(const tensor_info& info, std::vector<double> values,
                               const bn_config& config, bn_state& state,
                               std::vector<channel_moments>* batch = nullptr);

/// One step on a float64 `x` (row-major), as batch_norm() above.
xt::xarray<double> batch_norm(const xt::xarray<double>& x, const bn_config& config, bn_state& state,
                              std::vector<channel_moments>* batch = nullptr);

}  // namespace bnorm
