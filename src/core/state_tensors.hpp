// SPDX-License-Identifier: Apache-2.0
// A batch-normalization state as named tensors, as a state_dict holds them: PyTorch's names, or
// Keras's, under an optional prefix.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "batch_norm.hpp"
#include "dtype.hpp"
#include "tensor_stream.hpp"

namespace bnorm {

/// The most channels a state tensor may hold (4,194,304; 32 MiB as doubles).
inline constexpr std::size_t max_state_channels = std::size_t{1} << 22;

/// One value of a state as a file holds it.
struct stored_state_entry {
  std::string value;               ///< PyTorch's name of the value: "running_var"
  std::string name;                ///< the tensor's name in the file: "module.bn1.moving_variance"
  dtype type;                      ///< its type there
  std::vector<std::size_t> shape;  ///< its shape there
};

/// A state read from a file of tensors, with where it lies there, so that it can be written
/// back in its own names and types.
struct stored_state {
  bn_state state;
  /// The prefix the layer's names were found under (the one asked for, or that one under
  /// DataParallel's "module." and Lightning's "model." wrappers).
  std::string prefix;
  /// The values the file holds, in the order weight, bias, running_mean, running_var,
  /// num_batches_tracked.
  std::vector<stored_state_entry> entries;
  /// What the file says of the layer besides its tensors (an ONNX node's epsilon and
  /// momentum): the archive's settings_of(prefix).
  std::optional<layer_settings> settings;
};

/// Reads `prefix` + weight, bias, running_mean, running_var (1-D) and num_batches_tracked (one
/// non-negative integral value), each optional, or Keras's gamma, beta, moving_mean and
/// moving_variance; other tensors are ignored, as a model's state file holds many layers.
/// When no tensor of a state is under `prefix`, the layer is looked for under wrappers of it
/// ("module.", "model.", stacked: "module.model."), then, for a prefix without its final dot,
/// under `prefix` + "." the same way; a prefix found under two wrappers is refused naming both.
/// Throws data_error when no state is found (naming the prefixes that hold a batch-norm
/// layer), when one value is named both ways, or on a bad value.
stored_state read_stored_state(const tensor_archive& archive, const std::string& prefix);

/// The prefix among `prefixes` that `prefix` means: itself, else the one that is `prefix`
/// under wrappers, else the same for `prefix` + "." when it has no final dot (as
/// read_stored_state looks for a layer); none when none is.  Throws data_error naming `file`
/// when two wrapped prefixes match.
std::optional<std::string> resolve_prefix(const std::string& file,
                                          const std::vector<std::string>& prefixes,
                                          const std::string& prefix);

/// read_stored_state's state alone.
bn_state read_state_tensors(const tensor_archive& archive, const std::string& prefix);

/// How a state is written as tensors: with PyTorch's names and no prefix (a state file of its
/// own), or over the layer it was read from (`in_place`).
struct state_tensor_style {
  /// The state as the file held it, or null: running_mean and running_var in float64, so that
  /// the numbers read back exactly.
  const stored_state* stored = nullptr;
  /// Under the stored names and prefix, every value in its stored type, and only the values
  /// the layer holds (a model keeps its keys, which load_state_dict(strict=True) checks).
  /// Otherwise PyTorch's names without a prefix, and the floating values in the stored type
  /// of each (the first floating one's for a value not stored) as `written_type` maps it.
  bool in_place = false;
  /// The type a floating type is written as (a codec's written_type); null keeps it.
  dtype (*written_type)(dtype) = nullptr;
};

/// The state as tensors, for a codec's write_set or update_set: weight and bias when `affine`,
/// running_mean, running_var and num_batches_tracked (an integer scalar, int64 as PyTorch saves
/// it unless the file held it, in place, in another integer type that holds the count, and in
/// the shape it had there) when `track_running_stats`.  Statistics stored in a type that is not
/// floating are written as float64; every type is written little-endian.
std::vector<named_tensor> state_tensors(const bn_state& state, bool affine,
                                        bool track_running_stats,
                                        const state_tensor_style& style = {});

/// The names state_tensors gives the tensors without a stored state.
std::vector<std::string> state_tensor_names(bool affine, bool track_running_stats);

}  // namespace bnorm
