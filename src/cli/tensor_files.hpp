// SPDX-License-Identifier: Apache-2.0
// The tensor files of a subcommand's command line: the INPUT and output arguments with
// --input-format, --output-format and --tensor, and how their formats are told.  Every word
// for a format here comes from the registry.
#pragma once

#include <memory>
#include <string>

#include "cli11_forward.hpp"
#include "formats/registry.hpp"

namespace bnorm::cli {

/// Adds the tensor INPUT every reading subcommand takes, with --input-format and --tensor.
/// Adds --missing too (add_missing_option), into `missing`.
void add_input_option(CLI::App* cmd, std::string& input, std::string& input_format,
                      std::string& tensor, std::string& missing);

/// What INPUT's help says of a tensor input: "Tensor, .npy, ...; - reads standard input".
std::string input_description();

/// Adds the flags that say how INPUT is read, for a subcommand whose INPUT is its own (many
/// inputs): --input-format, --tensor and --missing.
void add_input_reading_options(CLI::App* cmd, std::string& input_format, std::string& tensor,
                               std::string& missing);

/// Adds --missing error|nan, how a table's empty fields are read (an error, or NaN), to a
/// subcommand that reads tensors; the value is kept as typed in `missing`.
void add_missing_option(CLI::App* cmd, std::string& missing);

/// What --missing `missing` (as add_missing_option keeps it) asks of the readers.
read_options resolve_read_options(const std::string& missing);

/// Adds --tensor NAME, which picks a tensor of a file of named tensors `what`.
void add_tensor_option(CLI::App* cmd, std::string& tensor, const std::string& what);

/// Adds the tensor output: a positional OUTPUT, or an option when `names` is like
/// "-o,--output"; with --output-format.  `input` names the input whose format an output with
/// no name to tell takes.
void add_output_option(CLI::App* cmd, const std::string& names, std::string& output,
                       std::string& output_format, const std::string& input = "INPUT");

/// "npy|json|npz|safetensors", the type name of a format flag.
std::string format_choices();

/// The format a --input-format or --output-format `value` names; null when it is empty.
/// Throws usage_error for a name no format has.
const codec* named_format(const std::string& value);

/// The format --input-format `flag_value` names for the input `path` (null: told when it is
/// opened).  Throws io_error for a directory, usage_error for a name no format has.
const codec* input_format(const std::string& path, const std::string& flag_value);

/// A tensor read from the command line, and the format it was read in.
struct input_tensor {
  std::unique_ptr<tensor_source> source;
  const codec* format = nullptr;
};

/// "--tensor picks a tensor of an .npz or .safetensors file", for the messages that refuse it.
std::string tensor_flag_scope();

/// Refuses --tensor `tensor` for `path` when its format (`named`, else its name's) holds one
/// unnamed tensor; a name that says nothing is checked when the file is read.
void check_tensor_flag(const std::string& path, const codec* named, const std::string& tensor);

/// Opens the tensor `tensor` of `path` in the format `named` (null: told by its name and
/// bytes).  Throws io_error for a directory, usage_error for --tensor given for a file of one
/// tensor, else what open_input and pick_tensor throw.  The advice on a format that cannot be
/// told (--input-format) is given only when `format_flag_applies` to this file, and on a
/// tensor not chosen (--tensor) only when `tensor_flag_applies`; else a file of several
/// tensors is told to be one tensor.
input_tensor open_input_tensor(const std::string& path, const codec* named,
                               const std::string& tensor = {}, bool format_flag_applies = true,
                               bool tensor_flag_applies = true, const read_options& options = {});

/// The tensor `tensor` of `input`, a file of `path` already opened and its format told (by its
/// first bytes, to choose what a run does with it), as open_input_tensor gives it.
input_tensor open_input_tensor(opened_input input, const std::string& path,
                               const std::string& tensor = {}, bool tensor_flag_applies = true,
                               const read_options& options = {});

/// The format of the output `path` (--output-format `flag_value`, else its name's), as far as
/// it is told before the input is read (see codec_for_output): null means the input's.
/// Throws io_error for a directory, usage_error for a name no format has, which keeps its fault
/// (advice names --output-format) only when `output_flag_applies` to this file.
const codec* output_format(const std::string& path, const std::string& flag_value,
                           bool output_flag_applies = true);

/// Refuses (usage_error) to write a file of `format` that is not text to `path` when that is
/// a terminal (standard output, or a descriptor's name, on one): its bytes would be noise.
/// The advice names --output-format only when `output_flag_applies` to this output.
void refuse_binary_on_terminal(const std::string& path, const codec& format,
                               bool output_flag_applies = true);

/// Refuses (usage_error) to write a tensor to `path` as `format` when the format is one bnorm
/// only reads (a model, which it rewrites only whole), before anything is written.
/// `input_format`: the format was not asked for but taken from the input (`path` has no name
/// to tell one), which the message says, with the flag that names another.
void refuse_unwritable(const std::string& path, const codec& format, bool input_format = false);

/// The format of named tensors a --stats-out `path` names, or null for a JSON document (any
/// other name, and standard output).  Throws usage_error for a format bnorm only reads.
const codec* state_output_format(const std::string& path);

/// For the message of a JSON file that does not parse: "" when `path` is named as a document
/// (or is standard input), else " (" + formats + ")", since it may be in another format.
std::string format_hint(const std::string& path, const std::string& formats);

/// ".json": the extensions of the documents' format.
std::string document_extensions();

/// "JSON, .npz or .safetensors": the formats a state file may have.
std::string state_formats();

}  // namespace bnorm::cli
