// SPDX-License-Identifier: Apache-2.0
// The flags that describe a batch-normalization layer (convention, mode, eps, momentum, axis,
// affine, running statistics, state), shared by every subcommand that normalizes, and their
// validation into the configuration the core takes.
#pragma once

#include <string>

#include "batch_norm.hpp"
#include "cli11_forward.hpp"

namespace bnorm::cli {

/// The layer flags as typed; numbers stay text until validated (CLI11 2.1 reads "010" as 8
/// and lets "nan" through a range check).
struct layer_options {
  std::string mode = "train";
  /// Whether --mode was given: only a mode not given is taken from the state's layer (an ONNX
  /// node's own).
  bool mode_given = false;
  std::string convention = "torch";
  std::string eps;
  std::string momentum;
  std::string axis;
  std::string state;
  std::string state_prefix;
  bool no_affine = false;
  bool no_track_running_stats = false;
};

/// Which of the layer flags a subcommand offers: each offers only those it reads.
/// `apply`: all of them.  `stats`: those that decide how a batch is normalized (no momentum,
/// which only updates running statistics it does not write, and no affine or tracking
/// switches).  `backward`: stats's and the affine and tracking switches.  `fold`: no --mode
/// (folding is eval mode) and no momentum; the axis is the weight's output channels, 0.
enum class layer_flags { apply, stats, backward, fold };

/// Adds the layer flags that `which` offers to `cmd`.
void add_layer_options(CLI::App* cmd, layer_options& options, layer_flags which);

/// Validates the flags into a configuration.  Throws usage_error.
bn_config make_config(const layer_options& options);

}  // namespace bnorm::cli
