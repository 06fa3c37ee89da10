#include "tensor_files.hpp"

#include "error.hpp"
#include "file_io.hpp"
#include "file_names.hpp"

namespace bnorm::cli {

void add_input_option(CLI::App* cmd, std::string& input, std::string& input_format,
                      std::string& tensor) {
  cmd->add_option("INPUT", input,
                  "Tensor, .npy, .json, .npz or .safetensors; - reads standard input")
      ->type_name("FILE")
      ->required();
  cmd->add_option("--input-format", input_format, "Format of INPUT (needed for -)")
      ->type_name("npy|json|npz|safetensors");
  add_tensor_option(cmd, tensor, "INPUT");
}

void add_tensor_option(CLI::App* cmd, std::string& tensor, const std::string& what) {
  cmd->add_option("--tensor", tensor, "The tensor to read from an .npz/.safetensors " + what)
      ->type_name("NAME");
}

void add_output_option(CLI::App* cmd, const std::string& names, std::string& output,
                       std::string& output_format) {
  cmd->add_option(names, output,
                  "Output tensor, .npy, .json, .npz or .safetensors; - writes standard output")
      ->type_name("FILE")
      ->required();
  cmd->add_option("--output-format", output_format, "Format of the output (needed for -)")
      ->type_name("npy|json|npz|safetensors");
}

tensor_format resolve_format(const std::string& path, const std::string& flag_value,
                             const char* flag) {
  // Before the name is read for a format: "d: Is a directory", not "cannot tell the format".
  refuse_directory(path);
  if (!flag_value.empty()) return parse_format(flag_value);
  if (path == standard_stream) {
    throw usage_error(std::string("'-' has no extension to tell its format: give ") + flag +
                      " npy, json, npz or safetensors");
  }
  return format_from_extension(path);
}

std::string format_hint(const std::string& path, const std::string& formats) {
  if (path == standard_stream || lowercase_extension(path) == ".json") return "";
  return " (" + formats + ")";
}

}  // namespace bnorm::cli
