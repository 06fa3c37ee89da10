// A batch-normalization state as named tensors, as a state_dict holds them: PyTorch's names, or
// Keras's, under an optional prefix.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "batch_norm.hpp"
#include "tensor_stream.hpp"

namespace bnorm {

/// The most channels a state tensor may hold (4,194,304; 32 MiB as doubles).
inline constexpr std::size_t max_state_channels = std::size_t{1} << 22;

/// Reads `prefix` + weight, bias, running_mean, running_var (1-D) and num_batches_tracked (one
/// non-negative integral value), each optional, or Keras's gamma, beta, moving_mean and
/// moving_variance; other tensors are ignored, as a model's state file holds many layers.
/// Throws data_error when no tensor of the state is found under the prefix (naming prefixes
/// that do hold a running mean), when one value is named both ways, or on a bad value.
bn_state read_state_tensors(const tensor_archive& archive, const std::string& prefix);

/// The state as tensors with PyTorch's names, for a codec's write_set: weight and bias when
/// `affine`, running_mean, running_var (float64, so that the numbers read back exactly) and
/// num_batches_tracked (an int64 scalar, as PyTorch saves it) when `track_running_stats`.
std::vector<named_tensor> state_tensors(const bn_state& state, bool affine,
                                        bool track_running_stats);

/// The names state_tensors gives the tensors.
std::vector<std::string> state_tensor_names(bool affine, bool track_running_stats);

}  // namespace bnorm
