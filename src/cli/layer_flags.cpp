// SPDX-License-Identifier: Apache-2.0
#include "layer_flags.hpp"

#include <CLI/CLI.hpp>

#include "error.hpp"
#include "formats/registry.hpp"
#include "parse_number.hpp"

namespace bnorm::cli {

void add_layer_options(CLI::App* cmd, layer_options& o, layer_flags which) {
  const bool has_momentum = which == layer_flags::apply;
  const bool has_switches = which == layer_flags::apply || which == layer_flags::backward;
  if (which != layer_flags::fold) {
    cmd->add_option("--mode", o.mode, "train: batch statistics; eval: running statistics")
        ->type_name("train|eval")
        ->capture_default_str()
        ->each([&o](const std::string&) { o.mode_given = true; });
  } else {
    // Folding is eval mode, whatever mode the state's layer runs in.
    o.mode = "eval";
    o.mode_given = true;
  }
  cmd->add_option("--convention", o.convention,
                  has_momentum                 ? "Defaults, and the meaning of --momentum"
                  : which == layer_flags::fold ? "Default of --eps"
                                               : "Defaults of --eps and --axis")
      ->type_name("torch|keras|onnx|tf-fused|caffe|flax")
      ->capture_default_str();
  cmd->add_option("--eps", o.eps, "Added to the variance (torch 1e-5, keras 1e-3, onnx 1e-5)")
      ->type_name("E");
  if (has_momentum) {
    cmd->add_option("--momentum", o.momentum,
                    "In the convention's meaning (torch 0.1, keras 0.99, onnx 0.9); none = "
                    "cumulative average")
        ->type_name("M|none");
  }
  if (which == layer_flags::fold) {
    // Unlike a batch, a weight's output channels are its first axis in PyTorch.
    o.axis = "0";
    cmd->add_option("--axis", o.axis, "WEIGHT's output-channel axis, negative from the end")
        ->type_name("A")
        ->capture_default_str();
  } else {
    cmd->add_option("--axis", o.axis,
                    "Channel axis, negative from the end (torch 1, keras -1, onnx 1)")
        ->type_name("A");
  }
  if (has_switches) {
    cmd->add_flag("--no-affine", o.no_affine, "No weight and bias (affine=False)");
    cmd->add_flag(
        "--no-track-running-stats", o.no_track_running_stats,
        has_momentum
            ? "Batch statistics in both modes, no running state (track_running_stats=False)"
            : "Batch statistics in both modes (track_running_stats=False)");
  }
  cmd->add_option("--state", o.state,
                  "State to start from (weight, bias, running_*, ...): JSON, or " +
                      extension_names("/", "/", true) + " with PyTorch or Keras names")
      ->type_name("FILE");
  cmd->add_option("--state-prefix", o.state_prefix,
                  "In " + named_formats("/", "/") + " --state, the layer's names start with this")
      ->type_name("PREFIX");
}

bn_config make_config(const layer_options& o) {
  bn_config config = default_config(find_convention(o.convention));
  if (o.mode == "train") {
    config.mode = bn_mode::train;
  } else if (o.mode == "eval") {
    config.mode = bn_mode::eval;
  } else {
    throw usage_error("--mode takes train or eval, not '" + o.mode + "'");
  }
  if (!o.eps.empty()) {
    config.eps = parse_finite(o.eps, "--eps");
    if (config.eps < 0) throw usage_error("--eps must be at least 0, not '" + o.eps + "'");
  }
  if (o.momentum == "none") {
    config.momentum.reset();
  } else if (!o.momentum.empty()) {
    const double m = parse_finite(o.momentum, "--momentum");
    if (m < 0 || m > 1) {
      throw usage_error("--momentum takes a number in [0, 1] or none, not '" + o.momentum + "'");
    }
    config.momentum = m;
  }
  if (!o.axis.empty()) config.axis = parse_integer(o.axis, "--axis");
  config.affine = config.conv->affine && !o.no_affine;
  config.track_running_stats = !o.no_track_running_stats;
  return config;
}

}  // namespace bnorm::cli
