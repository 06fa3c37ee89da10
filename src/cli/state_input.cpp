#include "state_input.hpp"

#include <iostream>

#include "error.hpp"
#include "file_io.hpp"
#include "file_names.hpp"
#include "state_tensors.hpp"
#include "tensor_files.hpp"

namespace bnorm::cli {

state_file read_state(const layer_options& o, const bn_config& config) {
  if (o.state.empty()) {
    if (!o.state_prefix.empty()) throw usage_error("--state-prefix needs --state");
    return {};
  }
  const std::string name = input_name(o.state);
  refuse_directory(o.state);
  opened_input input;
  try {
    input = open_input(o.state);
  } catch (const usage_error&) {
    // Neither name nor bytes tell: read as JSON, whose parser says where it is not.
    input = {std::make_unique<input_file>(o.state), nullptr};
  }
  if (input.format && input.format->holds_many) {
    return {read_state_tensors(*input.format->open(std::move(input.file)), o.state_prefix), {}};
  }
  if (input.format && !input.format->holds_documents) {
    throw usage_error("--state " + name + ": a state is JSON, or an " +
                      extension_names(", ", " or ", true) + " file of tensors, not " +
                      std::string(input.format->a_file) + " of one tensor");
  }
  if (!o.state_prefix.empty()) {
    throw usage_error("--state-prefix applies to an " + extension_names(", ", " or ", true) +
                      " --state, not " + name);
  }
  const std::string text = input.file->read_all();
  state_file state;
  try {
    state = parse_state(text);
  } catch (const data_error& e) {
    throw data_error(name + ": " + e.what() +
                     format_hint(o.state, "a state is " + state_formats()));
  }
  if (!state.convention.empty() && state.convention != config.conv->name) {
    std::cerr << "bnorm: warning: " << name << " was written under the "
              << nlohmann::json(state.convention).dump() << " convention; this run uses "
              << config.conv->name << '\n';
  }
  return state;
}

}  // namespace bnorm::cli
