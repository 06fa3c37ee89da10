// SPDX-License-Identifier: Apache-2.0
// Batch normalization of a tensor in memory, as PyTorch, Keras, ONNX, TensorFlow's fused
// kernel, Caffe or Flax computes it: one step, its new state and the batch's statistics.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>
#include <xtensor/xexpression.hpp>

#include <bnorm/array.hpp>
#include <bnorm/half.hpp>

namespace bnorm {

/// The framework whose batch normalization a step reproduces: what eps and momentum mean,
/// which variance feeds running_var, and the defaults.  The names are those of bnorm's
/// --convention (`tf_fused` is "tf-fused").
enum class framework {
  torch,  ///< PyTorch's BatchNorm: eps 1e-5, momentum 0.1 weighting the batch, axis 1.
  keras,  ///< Keras 3's BatchNormalization: eps 1e-3, momentum 0.99 of the old value, axis -1.
  onnx,   ///< ONNX's BatchNormalization: eps 1e-5, momentum 0.9 of the old value, axis 1.
  /// TensorFlow's fused kernel (tf.keras, fused=True): eps 1e-3 (at least 1.001e-5), momentum
  /// 0.99 of the old value, axis -1, 4-D and 5-D tensors.
  tf_fused,
  caffe,  ///< Caffe's BatchNorm: no weight and bias, moving_average_fraction 0.999.
  flax,   ///< Flax linen's BatchNorm: eps 1e-5, momentum 0.99 of the old value, axis -1.
};

/// Training normalizes with the batch's statistics and updates the running ones; evaluation
/// normalizes with the running statistics.
enum class mode {
  train,  ///< Normalize with the batch's statistics, and update the running ones.
  eval,   ///< Normalize with the running statistics (without them, the batch's); none change.
};

/// How a step computes.  A number left unset is the framework's default.
struct options {
  /// Whose semantics: eps, momentum and running variance as that framework means them.
  bnorm::framework framework = bnorm::framework::torch;
  /// Train or eval.
  bnorm::mode mode = bnorm::mode::train;
  /// Added to the variance, finite and at least 0; unset: the framework's (torch 1e-5, keras
  /// 1e-3...).
  std::optional<double> eps;
  /// In [0, 1], in the framework's own meaning (torch 0.1 weights the batch, keras 0.99 the old
  /// value); unset: the framework's default.
  std::optional<double> momentum;
  /// PyTorch's momentum=None: the running statistics are the average of every batch so far,
  /// counted by num_batches_tracked.
  bool cumulative_average = false;
  /// The channel axis, negative from the end; unset: the framework's (1; -1 for keras, tf_fused and
  /// flax).
  std::optional<long long> axis;
  /// False: the layer has no weight and bias (PyTorch's affine=False); the state's go unused.
  /// Caffe's BatchNorm has none whatever this says (its Scale layer is another layer).
  bool affine = true;
  /// False: no running statistics, so eval mode also normalizes with the batch's.
  bool track_running_stats = true;
  /// Ghost batch normalization: each group of this many samples along axis 0 is normalized
  /// with its own statistics.  0: off.
  std::size_t virtual_batch_size = 0;
};

/// A layer's learned parameters and running statistics, one value per channel.  An empty
/// vector is "not given", PyTorch's initial value: weight 1, bias 0, running_mean 0,
/// running_var 1.
struct layer_state {
  /// γ, the scale.
  std::vector<double> weight;
  /// β, the shift.
  std::vector<double> bias;
  /// The running mean.
  std::vector<double> running_mean;
  /// The running variance, as the framework feeds it (unbiased for torch, biased for keras).
  std::vector<double> running_var;
  /// Training steps taken, as PyTorch counts them.
  std::int64_t num_batches_tracked = 0;
};

/// One channel's statistics over a batch.
struct channel_statistics {
  /// How many values the channel has.
  std::uint64_t count = 0;
  /// Their mean (NaN when one is NaN, as PyTorch computes it).
  double mean = 0;
  /// The biased (population) variance, which normalization divides by.
  double var = 0;
  /// The unbiased (sample) variance, which PyTorch feeds running_var; NaN below 2 values.
  double var_unbiased = 0;
  /// The smallest value, NaN skipped.
  double min = 0;
  /// The largest value, NaN skipped.
  double max = 0;
  /// How many values are NaN or infinite.
  std::uint64_t nonfinite = 0;
};

/// What a step computed besides its output.
struct step_result {
  /// The parameters used and the running statistics after the step.
  layer_state state;
  /// The batch's statistics, per channel (measured in eval mode too).
  std::vector<channel_statistics> batch;
};

/// A step's output and what it computed.
template <class T>
struct normalized : step_result {
  /// The normalized tensor, of the input's shape.
  bnorm::array<T> output;
};

/// One batch-normalization step on `x`, row-major, whose channels lie along `opts.axis`.
/// Computed in double and rounded once to float, as bnorm computes a float32 file.  Throws
/// usage_error (eval mode without running statistics, an eps or momentum out of range) or
/// data_error (rank, axis, one value per channel in training, state lengths, a NaN or negative
/// running variance).
normalized<float> normalize(const array<float>& x, const options& opts = {},
                            const layer_state& state = {});

/// normalize() on double, with double-double moments, as bnorm computes a float64 file.
normalized<double> normalize(const array<double>& x, const options& opts = {},
                             const layer_state& state = {});

/// normalize() on binary16, rounded once to the nearest half (ties to even).
normalized<half> normalize(const array<half>& x, const options& opts = {},
                           const layer_state& state = {});

/// normalize() on any xtensor expression of float, double or half (an xt::xtensor, a view, an
/// xt::xarray of another allocator or layout), evaluated into a bnorm::array first.
template <class E>
normalized<typename E::value_type> normalize(const xt::xexpression<E>& x, const options& opts = {},
                                             const layer_state& state = {}) {
  return normalize(array<typename E::value_type>(x.derived_cast()), opts, state);
}

}  // namespace bnorm
