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
};

/// The state flags of `options`, checked by name: usage_error for --state-prefix without
/// --state or with a JSON state, and for an .npy state (io_error when that name is a folder).
state_input state_input_of(const layer_options& options);

/// Reads --state, if given: JSON, or an .npz or .safetensors state_dict under --state-prefix.
/// Names the file in errors and warns when it was written under another convention.  Throws
/// data_error or io_error.
state_file read_state(const state_input& state, const bn_config& config);

/// A state as read_state reads it, and where it came from when a file of tensors held it.
struct read_state_result {
  state_file state;
  /// Its names, prefix and types in the file (their state moved into `state`).
  std::optional<stored_state> stored;
  const codec* format = nullptr;  ///< the format of that file
};

/// read_state, keeping where a file of tensors held the state.
read_state_result read_state_with_origin(const state_input& state, const bn_config& config);

}  // namespace bnorm::cli
