#include "tensor_files.hpp"

#include "error.hpp"
#include "file_io.hpp"
#include "file_names.hpp"

namespace bnorm::cli {

void add_input_option(CLI::App* cmd, std::string& input, std::string& input_format,
                      std::string& tensor) {
  cmd->add_option("INPUT", input,
                  "Tensor, " + extension_names(", ", " or ") + "; - reads standard input")
      ->type_name("FILE")
      ->required();
  cmd->add_option("--input-format", input_format,
                  "Format of INPUT (else told by its name and first bytes)")
      ->type_name(format_choices());
  add_tensor_option(cmd, tensor, "INPUT");
}

void add_tensor_option(CLI::App* cmd, std::string& tensor, const std::string& what) {
  cmd->add_option("--tensor", tensor,
                  "The tensor to read from an " + extension_names("/", "/", true) + " " + what)
      ->type_name("NAME");
}

void add_output_option(CLI::App* cmd, const std::string& names, std::string& output,
                       std::string& output_format) {
  cmd->add_option(names, output,
                  "Output tensor, " + extension_names(", ", " or ") + "; - writes standard output")
      ->type_name("FILE")
      ->required();
  cmd->add_option("--output-format", output_format,
                  "Format of the output (else its name's, or INPUT's for -)")
      ->type_name(format_choices());
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

input_tensor open_input_tensor(const std::string& path, const codec* named,
                               const std::string& tensor, bool format_flag_applies) {
  // Before the name is read for a format: "d: Is a directory", not "cannot tell the format".
  refuse_directory(path);
  opened_input input;
  try {
    input = open_input(path, named);
  } catch (const usage_error& e) {
    if (format_flag_applies) throw;
    throw usage_error(e.what());  // without the fault: no flag names this file's format
  }
  const codec* format = input.format;
  const auto archive = format->open(std::move(input.file));
  if (!tensor.empty() && !archive->names_tensors()) {
    throw usage_error("--tensor picks a tensor of an " + extension_names(", ", " or ", true) +
                      " file; " + input_name(path) + " holds only one");
  }
  return {pick_tensor(*archive, tensor), format};
}

const codec* output_format(const std::string& path, const std::string& flag_value,
                           bool format_flag_applies) {
  refuse_directory(path);
  try {
    return codec_for_output(path, named_format(flag_value));
  } catch (const usage_error& e) {
    if (format_flag_applies) throw;
    throw usage_error(e.what());  // without the fault: no flag names this file's format
  }
}

const codec* state_output_format(const std::string& path) {
  const codec* format = codec_for_path(path);
  return format && format->holds_many ? format : nullptr;
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
