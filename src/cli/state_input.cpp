#include "state_input.hpp"

#include <iostream>

#include "error.hpp"
#include "file_io.hpp"
#include "file_names.hpp"
#include "state_tensors.hpp"
#include "tensor_files.hpp"

namespace bnorm::cli {
namespace {

// A state is a document, or a file of named tensors under --state-prefix; a format of one
// unnamed tensor cannot hold one, and a prefix names tensors, which a document has none of.
void check_state_format(const codec& format, const std::string& name, bool prefixed) {
  if (!format.holds_many && !format.holds_documents) {
    throw usage_error("--state " + name + ": a state is JSON, or " + named_formats(", ", " or ") +
                      " file of tensors, not one " + std::string(format.extensions.front()) +
                      " tensor");
  }
  if (prefixed && !format.holds_many) {
    throw usage_error("--state-prefix applies to " + named_formats(", ", " or ") +
                      " --state, not " + name);
  }
}

}  // namespace

state_input state_input_of(const layer_options& o) {
  if (o.state.empty()) {
    if (!o.state_prefix.empty()) throw usage_error("--state-prefix needs --state");
    return {};
  }
  // What the name says is refused now, unless the name is a folder's: that is what is wrong.
  // A name that says nothing is checked by its bytes when the state is read.
  if (const codec* format = codec_for_path(o.state)) {
    try {
      check_state_format(*format, input_name(o.state), !o.state_prefix.empty());
    } catch (const usage_error&) {
      refuse_directory(o.state);
      throw;
    }
  }
  return {o.state, o.state_prefix};
}

state_file read_state(const state_input& o, const bn_config& config) {
  return read_state_with_origin(o, config).state;
}

read_state_result read_state_with_origin(const state_input& o, const bn_config& config) {
  if (o.path.empty()) return {};
  const std::string name = input_name(o.path);
  refuse_directory(o.path);
  opened_input input;
  try {
    input = open_input(o.path);
  } catch (const usage_error&) {
    // Neither name nor bytes tell: read as a document, whose parser says where it is not one.
    input = {std::make_unique<input_file>(o.path), nullptr};
  }
  if (input.format) {
    check_state_format(*input.format, name, !o.prefix.empty());
  } else if (!o.prefix.empty()) {
    throw usage_error("--state-prefix applies to " + named_formats(", ", " or ") +
                      " --state, not " + name);
  }
  if (input.format && input.format->holds_many) {
    stored_state stored = read_stored_state(*input.format->open(std::move(input.file)), o.prefix);
    state_file state{stored.state, {}};
    return {std::move(state), std::move(stored), input.format};
  }
  const std::string text = input.file->read_all();
  state_file state;
  try {
    state = parse_state(text);
  } catch (const data_error& e) {
    throw data_error(name + ": " + e.what() + format_hint(o.path, "a state is " + state_formats()));
  }
  if (!state.convention.empty() && state.convention != config.conv->name) {
    std::cerr << "bnorm: warning: " << name << " was written under the "
              << nlohmann::json(state.convention).dump() << " convention; this run uses "
              << config.conv->name << '\n';
  }
  return {std::move(state), std::nullopt, input.format};
}

}  // namespace bnorm::cli
