// SPDX-License-Identifier: Apache-2.0
#include "tensor_files.hpp"

#include <unistd.h>
#include <CLI/CLI.hpp>

#include "error.hpp"
#include "file_io.hpp"
#include "file_names.hpp"

namespace bnorm::cli {

std::string input_description() {
  return "Tensor, " + extension_names(", ", " or ") + "; - reads standard input";
}

void add_input_option(CLI::App* cmd, std::string& input, std::string& input_format,
                      std::string& tensor, std::string& missing) {
  cmd->add_option("INPUT", input, input_description())->type_name("FILE")->required();
  add_input_reading_options(cmd, input_format, tensor, missing);
}

void add_input_reading_options(CLI::App* cmd, std::string& input_format, std::string& tensor,
                               std::string& missing) {
  cmd->add_option("--input-format", input_format,
                  "Format of INPUT (else told by its name and first bytes)")
      ->type_name(format_choices());
  add_tensor_option(cmd, tensor, "INPUT");
  add_missing_option(cmd, missing);
}

void add_missing_option(CLI::App* cmd, std::string& missing) {
  cmd->add_option("--missing", missing,
                  "An empty field of a CSV or TSV table: error (the default) or nan")
      ->type_name("error|nan")
      ->check(CLI::IsMember({"error", "nan"}));
}

read_options resolve_read_options(const std::string& missing) {
  read_options asked;
  asked.missing_as_nan = missing == "nan";
  return asked;
}

void add_tensor_option(CLI::App* cmd, std::string& tensor, const std::string& what) {
  cmd->add_option("--tensor", tensor,
                  "The tensor to read from " + named_formats("/", "/") + " " + what)
      ->type_name("NAME");
}

void add_output_option(CLI::App* cmd, const std::string& names, std::string& output,
                       std::string& output_format, const std::string& input) {
  cmd->add_option(
         names, output,
         "Output tensor, " + written_extension_names(", ", " or ") + "; - writes standard output")
      ->type_name("FILE")
      ->required();
  cmd->add_option("--output-format", output_format,
                  "Format of the output (else its name's, or " + input + "'s for -)")
      ->type_name(written_format_names("|"));
}

std::string format_choices() {
  return format_names("|");
}

const codec* named_format(const std::string& value) {
  if (value.empty()) return nullptr;
  if (const codec* format = codec_named(value)) return format;
  throw usage_error("unknown format '" + value + "' (known: " + format_names() + ")");
}

const codec* input_format(const std::string& path, const std::string& flag_value) {
  // Before the name is read for a format: "d: Is a directory", not "cannot tell the format".
  refuse_directory(path);
  return named_format(flag_value);
}

std::string tensor_flag_scope() {
  return "--tensor picks a tensor of " + named_formats(", ", " or ") + " file";
}

void check_tensor_flag(const std::string& path, const codec* named, const std::string& tensor) {
  const codec* format = named ? named : codec_for_path(path);
  if (tensor.empty() || !format || format->holds_many) return;
  throw usage_error(tensor_flag_scope() + "; " + input_name(path) + " holds only one");
}

input_tensor open_input_tensor(const std::string& path, const codec* named,
                               const std::string& tensor, bool format_flag_applies,
                               bool tensor_flag_applies, const read_options& options) {
  // Before the name is read for a format: "d: Is a directory", not "cannot tell the format".
  refuse_directory(path);
  check_tensor_flag(path, named, tensor);
  opened_input input;
  try {
    input = open_input(path, named);
  } catch (const usage_error& e) {
    if (format_flag_applies) throw;
    throw usage_error(e.what());  // without the fault: no flag names this file's format
  }
  return open_input_tensor(std::move(input), path, tensor, tensor_flag_applies, options);
}

input_tensor open_input_tensor(opened_input input, const std::string& path,
                               const std::string& tensor, bool tensor_flag_applies,
                               const read_options& options) {
  const codec* format = input.format;
  const auto archive = format->open(std::move(input.file), options);
  if (!tensor.empty() && !archive->names_tensors()) {
    throw usage_error(tensor_flag_scope() + "; " + input_name(path) + " holds only one");
  }
  try {
    return {pick_tensor(*archive, tensor), format};
  } catch (const usage_error& e) {
    // No --tensor picks from this file: the way out is a file of one tensor.
    if (tensor_flag_applies || e.fault() != fault::tensor_not_chosen) throw;
    throw usage_error(e.reworded(": give a file of one tensor"));
  }
}

const codec* output_format(const std::string& path, const std::string& flag_value,
                           bool output_flag_applies) {
  refuse_directory(path);
  const codec* format = nullptr;
  try {
    format = codec_for_output(path, named_format(flag_value));
  } catch (const usage_error& e) {
    if (output_flag_applies) throw;
    throw usage_error(e.what());  // without the fault: no flag names this file's format
  }
  if (format) refuse_unwritable(path, *format);
  return format;
}

void refuse_unwritable(const std::string& path, const codec& format, bool input_format) {
  if (format.make_sink) return;
  throw usage_error(
      (path == standard_stream ? std::string("standard output") : path) +
      ": bnorm writes no tensor as " + std::string(format.a_file) +
      (input_format ? ", its input's format (name another with --output-format)" : ""));
}

void refuse_binary_on_terminal(const std::string& path, const codec& format,
                               bool output_flag_applies) {
  if (format.text) return;
  const int fd = path == standard_stream ? STDOUT_FILENO : descriptor_named(path);
  if (fd < 0 || ::isatty(fd) != 1) return;
  std::string text_formats;
  for (const codec* c : all_codecs()) {
    if (c->text) text_formats += (text_formats.empty() ? "" : "|") + std::string(c->name);
  }
  throw usage_error((path == standard_stream ? std::string("standard output") : path) +
                    " is a terminal, and " + std::string(format.a_file) + " is not text: " +
                    (output_flag_applies
                         ? "redirect it, or name a text format with --output-format " + text_formats
                         : std::string("redirect it")));
}

const codec* state_output_format(const std::string& path) {
  const codec* format = codec_for_path(path);
  if (!format || !format->holds_many) return nullptr;
  if (!format->write_set) refuse_unwritable(path, *format);
  return format;
}

std::string format_hint(const std::string& path, const std::string& formats) {
  const codec* by_name = codec_for_path(path);
  if (path == standard_stream || (by_name && by_name->holds_documents)) return "";
  return " (" + formats + ")";
}

std::string document_extensions() {
  std::string text;
  for (const codec* format : all_codecs()) {
    if (!format->holds_documents) continue;
    for (std::string_view ext : format->extensions) {
      text += (text.empty() ? "" : ", ") + std::string(ext);
    }
  }
  return text;
}

std::string state_formats() {
  return "JSON, " + extension_names(", ", " or ", true);
}

}  // namespace bnorm::cli
