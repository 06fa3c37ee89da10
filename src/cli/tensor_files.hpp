// The tensor files of a subcommand's command line: the INPUT and output arguments with
// --input-format, --output-format and --tensor, and how their formats are told.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "tensor_io.hpp"

namespace bnorm::cli {

/// Adds the tensor INPUT every reading subcommand takes, with --input-format and --tensor.
void add_input_option(CLI::App* cmd, std::string& input, std::string& input_format,
                      std::string& tensor);

/// Adds --tensor NAME, which picks a tensor of an .npz or .safetensors `what`.
void add_tensor_option(CLI::App* cmd, std::string& tensor, const std::string& what);

/// Adds the tensor output: a positional OUTPUT, or an option when `names` is like
/// "-o,--output"; with --output-format.
void add_output_option(CLI::App* cmd, const std::string& names, std::string& output,
                       std::string& output_format);

/// The format of `path`: `flag_value` when given, else its extension.  Throws io_error for a
/// directory, else usage_error.
tensor_format resolve_format(const std::string& path, const std::string& flag_value,
                             const char* flag);

/// For the message of a JSON file that does not parse: "" when `path` is named .json (or is
/// standard input), else " (" + formats + ")", since it may be in another format altogether.
std::string format_hint(const std::string& path, const std::string& formats);

}  // namespace bnorm::cli
