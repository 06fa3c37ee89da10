// SPDX-License-Identifier: Apache-2.0
#include "state_input.hpp"

#include <iostream>

#include "error.hpp"
#include "file_io.hpp"
#include "file_names.hpp"
#include "number_text.hpp"
#include "quoted_name.hpp"
#include "run_feedback.hpp"
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

// The momentum of `config`, as --momentum spells it.
std::string momentum_text(const bn_config& config) {
  return config.momentum ? number_text(*config.momentum) : "none";
}

// What the file says of its layer (an ONNX node's mode, epsilon and momentum) is the run's,
// unless a flag says otherwise: then the flag wins, and the run differs from the model's own
// layer.  A mode given is the user's choice, and not warned about.
bn_config with_layer_settings(bn_config config, const state_input& o, const stored_state& stored,
                              const std::string& name, bool updates_running_stats) {
  if (!stored.settings) return config;
  const layer_settings& settings = *stored.settings;
  std::string layer = stored.prefix;
  if (layer.ends_with('.')) layer.pop_back();
  const std::string whose = name + "'s layer " + quoted_name(layer);
  if (settings.training && !o.mode_given) {
    config.mode = *settings.training ? bn_mode::train : bn_mode::eval;
    const std::string mode = *settings.training ? "train" : "eval";
    // As resolving the flags refuses it for --mode eval.
    if (config.mode == bn_mode::eval && config.virtual_batch_size > 0 &&
        config.track_running_stats) {
      throw usage_error(
          "--virtual-batch-size splits the batch for its statistics, which the "
          "eval mode of " +
          whose + " does not use (give --mode train)");
    }
    note(mode + " mode: the mode of " + whose);
  }
  if (settings.epsilon) {
    if (!o.eps_given) {
      config.eps = *settings.epsilon;
      note("eps " + number_text(config.eps) + ": the epsilon of " + whose);
    } else if (config.eps != *settings.epsilon) {
      std::cerr << "bnorm: warning: --eps " << number_text(config.eps) << " overrides " << whose
                << ", whose epsilon is " << number_text(*settings.epsilon) << '\n';
    }
  }
  const bool momentum_used =
      updates_running_stats && config.mode == bn_mode::train && config.track_running_stats;
  if (settings.momentum) {
    const convention& from = find_convention(settings.convention);
    const std::optional<double> momentum = convert_momentum(*settings.momentum, from, *config.conv);
    std::string stated =
        "momentum " + number_text(*settings.momentum) + " under " + std::string(from.name);
    // The number under the run's convention, where it is another (not under Keras's meaning,
    // which is ONNX's).
    if (momentum && *momentum != *settings.momentum) {
      stated += " (" + number_text(*momentum) + " under " + std::string(config.conv->name) + ")";
    }
    if (o.momentum_given) {
      if (momentum_used && config.momentum != momentum) {
        std::cerr << "bnorm: warning: --momentum " << momentum_text(config) << " overrides "
                  << whose << ", whose " << stated << '\n';
      }
    } else if (momentum) {
      config.momentum = momentum;
      if (momentum_used)
        note("momentum " + number_text(*momentum) + ": the " + stated + " of " + whose);
    } else if (momentum_used) {
      std::cerr << "bnorm: warning: " << whose << " has " << stated << ", which has no equal under "
                << config.conv->name << "; its default " << momentum_text(config)
                << " is used instead\n";
    }
  }
  return config;
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
  return {o.state, o.state_prefix, o.mode_given, !o.eps.empty(), !o.momentum.empty()};
}

read_state_result read_state(const state_input& o, const bn_config& config,
                             bool updates_running_stats) {
  if (o.path.empty()) return {{}, std::nullopt, nullptr, config};
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
    stored_state stored = read_stored_state(*input.format->open(std::move(input.file), {}), o.prefix);
    state_file state{std::move(stored.state), {}};
    bn_config taken = with_layer_settings(config, o, stored, name, updates_running_stats);
    return {std::move(state), std::move(stored), input.format, taken};
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
  return {std::move(state), std::nullopt, input.format, config};
}

}  // namespace bnorm::cli
