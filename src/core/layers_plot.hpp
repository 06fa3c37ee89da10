// SPDX-License-Identifier: Apache-2.0
// A picture of a model's batch-normalization layers: one row per layer, the spread of |γ| and
// of running_var on a log scale, so that a layer with dead or broken channels stands out.
#pragma once

#include <string>
#include <vector>

#include "model_layers.hpp"

namespace bnorm {

/// A self-contained SVG headed by `title`: a row per layer, its prefix on the left, then a
/// panel of |weight| (with `gamma_threshold` drawn) and one of running_var.  Each channel is a
/// dot at its value on a log axis; values a log axis cannot place are drawn at the axis ends,
/// each kind as its own mark with its count: zero (and, for running_var, negative) on the
/// left, NaN and infinity on the right.  The same layers give the same bytes.
std::string layers_svg(const std::string& title, const std::vector<model_layer>& layers,
                       double gamma_threshold);

}  // namespace bnorm
