// The flags that describe a batch-normalization layer (convention, mode, eps, momentum, axis,
// affine, running statistics, state), shared by every subcommand that normalizes, and the
// helpers every subcommand uses to name its files.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "batch_norm.hpp"
#include "state_file.hpp"
#include "tensor_io.hpp"

namespace bnorm::cli {

/// The layer flags as typed; numbers stay text until validated (CLI11 2.1 reads "010" as 8
/// and lets "nan" through a range check).
struct layer_options {
  std::string mode = "train";
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

/// Adds the tensor INPUT every reading subcommand takes, with --input-format and --tensor.
void add_input_option(CLI::App* cmd, std::string& input, std::string& input_format,
                      std::string& tensor);

/// Adds --tensor NAME, which picks a tensor of an .npz or .safetensors `what`.
void add_tensor_option(CLI::App* cmd, std::string& tensor, const std::string& what);

/// Adds the tensor output: a positional OUTPUT, or an option when `names` is like
/// "-o,--output"; with --output-format.
void add_output_option(CLI::App* cmd, const std::string& names, std::string& output,
                       std::string& output_format);

/// Validates the flags into a configuration.  Throws usage_error.
bn_config make_config(const layer_options& options);

/// Reads --state, if given: JSON, or an .npz or .safetensors state_dict under --state-prefix.
/// Names the file in errors and warns when it was written under another convention.  Throws
/// data_error, io_error, or usage_error for --state-prefix with a JSON state.
state_file read_state(const layer_options& options, const bn_config& config);

/// Throws io_error "PATH: Is a directory" when `path` names a folder, whatever its name says.
void refuse_directory(const std::string& path);

/// The format of `path`: `flag_value` when given, else its extension.  Throws io_error for a
/// directory, else usage_error.
tensor_format resolve_format(const std::string& path, const std::string& flag_value,
                             const char* flag);

/// For the message of a JSON file that does not parse: "" when `path` is named .json (or is
/// standard input), else " (" + formats + ")", since it may be in another format altogether.
std::string format_hint(const std::string& path, const std::string& formats);

/// How messages name a path: "<stdin>" for "-".
std::string input_name(const std::string& path);

}  // namespace bnorm::cli
