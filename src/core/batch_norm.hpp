// SPDX-License-Identifier: Apache-2.0
// One batch-normalization step over a streamed tensor: plan (validate everything that can be
// validated before any output exists), then run (one or two passes over the data).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "channel_stats.hpp"
#include "convention.hpp"
#include "layout.hpp"
#include "tensor_info.hpp"
#include "tensor_stream.hpp"

namespace bnorm {

enum class bn_mode { train, eval };

/// Everything that decides the arithmetic of one step.  Numbers are in the convention's own
/// meaning: `momentum` 0.99 under keras weights the old value.
struct bn_config {
  const convention* conv = &conventions()[0];
  bn_mode mode = bn_mode::train;
  double eps = 1e-5;
  std::optional<double> momentum = 0.1;  ///< nullopt: cumulative average (PyTorch momentum=None)
  long long axis = 1;
  bool affine = true;
  bool track_running_stats = true;
  /// Ghost batch normalization (Keras's virtual_batch_size): each group of this many samples
  /// (along axis 0) is normalized with its own statistics, and the running statistics are
  /// updated once with their average.  0: off.
  std::size_t virtual_batch_size = 0;
};

/// The defaults of `conv`: its eps, momentum and channel axis.
bn_config default_config(const convention& conv);

/// Learned parameters and running statistics.  An empty vector means "not given"; planning
/// fills it with PyTorch's initial value (weight 1, bias 0, running_mean 0, running_var 1).
struct bn_state {
  std::vector<double> weight;
  std::vector<double> bias;
  std::vector<double> running_mean;
  std::vector<double> running_var;
  std::int64_t num_batches_tracked = 0;
};

/// A validated step: the layout of the input, the complete state, and whether batch
/// statistics are needed to normalize.
struct bn_plan {
  bn_config config;
  tensor_info input;
  channel_layout layout;
  bn_state state;
  bool normalize_with_batch_stats = true;
  bool collect_batch_stats = true;  ///< also in eval mode when the caller wants to inspect them
  /// The statistics of the whole batch when this input is one shard of it (apply
  /// --batch-stats): used instead of measuring this input, as SyncBatchNorm does.
  std::vector<channel_moments> whole_batch;
};

/// 1/√(var + eps) for one channel, as the convention computes it: PyTorch's InvStd gives 0
/// for batch statistics with var + eps = 0 (`batch_statistics`), and every other case 1/√0 = ∞.
double inverse_std(const bn_config& config, bool batch_statistics, double var);

/// inverse_std of batch statistics from their moments, from M2 itself where it is kept scaled:
/// finite where the variance is past double's range but the standard deviation is not.
double batch_inverse_std(const bn_config& config, const channel_moments& m);

/// The most channels an empty batch may have: with no values to bound them, its per-channel
/// statistics and parameters would otherwise take whatever memory its header claims.
inline constexpr std::size_t max_empty_batch_channels = std::size_t{1} << 16;

/// The layout of a batch: at least 2 dimensions, `axis` inside the rank, at least one channel.
/// An empty batch (no values) is a batch: PyTorch normalizes it to an empty output; it may
/// have at most max_empty_batch_channels channels.
/// Throws data_error prefixed with `input_name`.
channel_layout batch_layout(const tensor_info& input, long long axis,
                            const std::string& input_name = "input");

/// Checks the input against the configuration and the state, and completes the state.
/// Throws usage_error (eval mode without running statistics, fault::running_statistics_missing)
/// or data_error prefixed with `input_name` (rank, no channels, axis, one value per channel, an
/// empty batch whose running statistics the convention would make NaN) or `state_name`
/// (lengths, running statistics that are NaN, infinite or a negative variance).
///
/// With `whole_batch`, the input is one shard of a batch measured elsewhere (apply
/// --batch-stats): the plan normalizes with those statistics and updates the running ones
/// once with them, as SyncBatchNorm does; it is a usage_error in eval mode with running
/// statistics (fault::whole_batch_in_eval), and the one-value rule applies to the whole
/// batch's counts.
bn_plan plan_batch_norm(const tensor_info& input, const bn_config& config, bn_state state,
                        bool want_batch_stats, const std::string& input_name = "input",
                        const std::string& state_name = "state",
                        const std::vector<channel_moments>* whole_batch = nullptr,
                        const std::string& whole_batch_name = "batch statistics");

/// What a step computed.
struct bn_result {
  std::vector<channel_moments> batch;  ///< empty unless the plan collected batch statistics
  bn_state state;                      ///< parameters used and running statistics after the step
};

/// Runs a planned step: statistics pass (train mode), then normalize into `output`.
bn_result run_batch_norm(const bn_plan& plan, const tensor_source& input, tensor_sink& output);

/// The running statistics after one training step with batch moments `batch`, following the
/// convention's momentum meaning and variance correction.
bn_state update_running_stats(const bn_config& config, const bn_state& state,
                              const std::vector<channel_moments>& batch);

}  // namespace bnorm
