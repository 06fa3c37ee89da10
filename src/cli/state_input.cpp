#include "state_input.hpp"

#include <iostream>

#include "error.hpp"
#include "file_io.hpp"
#include "file_names.hpp"
#include "state_tensors.hpp"
#include "tensor_archive.hpp"
#include "tensor_files.hpp"

namespace bnorm::cli {

state_input state_input_of(const layer_options& o) {
  if (o.state.empty()) {
    if (!o.state_prefix.empty()) throw usage_error("--state-prefix needs --state");
    return {};
  }
  const std::string name = input_name(o.state);
  tensor_format archive_format{};
  if (!names_archive(o.state, archive_format)) {
    // What the name says is refused, unless the name is a folder's: that is what is wrong.
    if (o.state != standard_stream && lowercase_extension(o.state) == ".npy") {
      refuse_directory(o.state);
      throw usage_error("--state " + name +
                        ": a state is JSON, or an .npz or .safetensors file of " +
                        "tensors, not one .npy tensor");
    }
    if (!o.state_prefix.empty()) {
      refuse_directory(o.state);
      throw usage_error("--state-prefix applies to an .npz or .safetensors --state, not " + name);
    }
  }
  return {o.state, o.state_prefix};
}

state_file read_state(const state_input& o, const bn_config& config) {
  if (o.path.empty()) return {};
  const std::string name = input_name(o.path);
  refuse_directory(o.path);
  tensor_format archive_format{};
  if (names_archive(o.path, archive_format)) {
    return {read_state_tensors(*open_archive(o.path, archive_format), o.prefix), {}};
  }
  const std::string text = read_text_file(o.path);
  state_file state;
  try {
    state = parse_state(text);
  } catch (const data_error& e) {
    throw data_error(name + ": " + e.what() +
                     format_hint(o.path, "a state is JSON, .npz or .safetensors"));
  }
  if (!state.convention.empty() && state.convention != config.conv->name) {
    std::cerr << "bnorm: warning: " << name << " was written under the "
              << nlohmann::json(state.convention).dump() << " convention; this run uses "
              << config.conv->name << '\n';
  }
  return state;
}

}  // namespace bnorm::cli
