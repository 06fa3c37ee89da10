// SPDX-License-Identifier: Apache-2.0
// The state a run starts from (--state, --state-prefix): a JSON state file, or the tensors of
// an .npz or .safetensors state_dict.
#pragma once

#include <optional>
#include <string>

#include "batch_norm.hpp"
#include "formats/codec.hpp"
#include "layer_flags.hpp"
#include "state_file.hpp"
#include "state_tensors.hpp"

namespace bnorm::cli {

/// --state and --state-prefix as given: empty when not.
struct state_input {
  std::string path;
  std::string prefix;
  /// Whether --mode, --eps and --momentum were given: only what was not given is taken from what
  /// the file says of its layer (an ONNX node's mode, epsilon and momentum).
  bool mode_given = false;
  bool eps_given = false;
  bool momentum_given = false;
};

/// The state flags of `options`, checked by name: usage_error for --state-prefix without
/// --state or with a JSON state, and for an .npy state (io_error when that name is a folder).
state_input state_input_of(const layer_options& options);

/// A state as read_state reads it, and where it came from when a file of tensors held it.
struct read_state_result {
  state_file state;
  /// Its names, prefix and types in the file (their state moved into `state`).
  std::optional<stored_state> stored;
  const codec* format = nullptr;  ///< the format of that file
  /// The run's configuration with what the file says of its layer taken in: the mode, the eps,
  /// and the momentum in the run's convention, that no flag gave.
  bn_config config;
};

/// Reads --state, if given: JSON, or a state_dict of named tensors under --state-prefix, and
/// takes the layer's mode, epsilon and momentum into `config` where the file gives them and no
/// flag did (usage_error where the layer's eval mode leaves --virtual-batch-size unused).  Warns
/// where a flag gives another value, and, for the momentum, only when `updates_running_stats`
/// (apply: it is used in train mode).  Names the file in errors and warns when it was written under
/// another convention.  Throws data_error or io_error.
read_state_result read_state(const state_input& state, const bn_config& config,
                             bool updates_running_stats = false);

}  // namespace bnorm::cli
