// SPDX-License-Identifier: Apache-2.0
// What each framework means by eps, momentum and variance: one row per framework, consulted
// by every subcommand instead of branching on names.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace bnorm {

/// Which value a momentum number weights in the running-statistics update.
enum class momentum_meaning {
  new_batch_weight,  ///< PyTorch: new = (1 − m)·old + m·batch
  old_value_weight,  ///< Keras, ONNX, TF fused, Flax: new = m·old + (1 − m)·batch
  /// Caffe's moving_average_fraction m with its scale-factor accumulator s_t = m·s_(t−1) + 1:
  /// the normalized running value is new = (1 − 1/s_t)·old + (1/s_t)·batch.
  caffe_fraction,
};

/// Which batch variance is fed to running_var.
enum class running_variance {
  unbiased,          ///< σ²·n/(n − 1): PyTorch
  biased,            ///< σ²: Keras, ONNX, Flax
  unbiased_guarded,  ///< σ²·n/max(n − 1, 1): TF's fused kernel, Caffe
};

/// One framework's batch-normalization semantics (see docs/CONVENTIONS.md).
struct convention {
  std::string_view name;
  double eps;
  double momentum;  ///< the framework's default, in its own meaning
  momentum_meaning meaning;
  long long axis;  ///< default channel axis
  running_variance fed_variance;
  bool single_value_is_error;  ///< PyTorch refuses training with one value per channel
  double min_eps = 0;          ///< a smaller eps is raised to this (TF fused: cuDNN's minimum)
  bool affine = true;          ///< false: the layer has no scale and shift (Caffe)
  std::size_t min_rank = 2, max_rank = 64;  ///< ranks the framework's layer takes
  /// PyTorch's InvStd: batch statistics with variance 0 and eps 0 give invstd 0, not 1/√0 = ∞,
  /// so the channel's output is β and its gradients 0.
  bool zero_variance_invstd_is_zero = false;
  /// The output is x·(γ·invstd) + (β − μ·γ·invstd), as PyTorch's CPU kernel and Keras compute
  /// it: the same as (x − μ)·γ·invstd + β up to rounding, but not when invstd is infinite.
  bool folds_mean_into_shift = false;
  /// An empty batch leaves the running statistics as they were (PyTorch); the others average
  /// no values, which gives NaN.
  bool empty_batch_keeps_running_stats = false;
};

/// Every convention bnorm speaks, torch first.
std::span<const convention> conventions();

/// The convention called `name`; throws usage_error listing the known names.
const convention& find_convention(std::string_view name);

/// `momentum` in the meaning of `from`, in the meaning of `to`: the number that gives the new
/// batch the same weight (ONNX's 0.9 is PyTorch's 0.1).  std::nullopt when either meaning is
/// Caffe's fraction, whose weight of the new batch changes from batch to batch.
std::optional<double> convert_momentum(double momentum, const convention& from,
                                       const convention& to);

/// "weight of the new batch" or "weight of the old value".
std::string_view describe(momentum_meaning meaning);

/// "unbiased" or "biased".
std::string_view describe(running_variance variance);

}  // namespace bnorm
