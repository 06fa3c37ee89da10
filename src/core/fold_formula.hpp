// SPDX-License-Identifier: Apache-2.0
// The arithmetic of folding one channel of an eval-mode batch normalization into the layer
// before it, in double: s = γ/√(var + ε), w′ = w·s, b′ = (b − mean)·s + β.  Both folds (a
// weight tensor's, kernels/fold.cpp, and a model graph's, formats/onnx_fold.cpp) use these,
// so that they give the same numbers by construction.
#pragma once

#include <cmath>

#include "dtype.hpp"

namespace bnorm {

/// s = γ/√(running_var + ε): what the normalization multiplies its channel by.  Not finite
/// when running_var + ε is 0 (or negative, or a parameter is not finite).
inline double fold_scale(double gamma, double running_var, double eps) {
  return gamma / std::sqrt(running_var + eps);
}

/// w′ = w·s, one weight of the channel.
inline double folded_weight(double weight, double scale) {
  return weight * scale;
}

/// b′ = (b − running_mean)·s + β, the channel's new bias (b = 0 for a layer without one).
inline double folded_bias(double bias, double running_mean, double scale, double beta) {
  return (bias - running_mean) * scale + beta;
}

/// `value` once rounded to `type`, as a file of that type holds it: a float16 weight of 7e4 is
/// ∞.
double rounded_to(dtype type, double value);

/// True when a folded value stays what its unfolded value was in kind: a NaN or ±∞ before may
/// stay so, but a finite value must be finite once rounded to `type`, since a folded ±∞ or NaN
/// would carry into every later use of the layer, unannounced.
inline bool stays_finite(dtype type, double unfolded, double folded) {
  // Magnitudes up to float16's largest value are finite in every floating type.
  if (std::fabs(folded) <= 65504) return true;
  return !std::isfinite(unfolded) || std::isfinite(rounded_to(type, folded));
}

}  // namespace bnorm
