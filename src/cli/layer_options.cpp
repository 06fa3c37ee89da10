#include "layer_options.hpp"

#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "error.hpp"
#include "file_io.hpp"
#include "parse_number.hpp"
#include "state_tensors.hpp"
#include "tensor_archive.hpp"

namespace bnorm::cli {
namespace {

// ".npy" for "a/B.NPY"; "" without one.
std::string lowercase_extension(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

}  // namespace

void add_layer_options(CLI::App* cmd, layer_options& o, layer_flags which) {
  const bool has_momentum = which == layer_flags::apply;
  const bool has_switches = which == layer_flags::apply || which == layer_flags::backward;
  if (which != layer_flags::fold) {
    cmd->add_option("--mode", o.mode, "train: batch statistics; eval: running statistics")
        ->type_name("train|eval")
        ->capture_default_str();
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
                  "State to start from (weight, bias, running_*, ...): JSON, or .npz/.safetensors "
                  "with PyTorch or Keras names")
      ->type_name("FILE");
  cmd->add_option("--state-prefix", o.state_prefix,
                  "In an .npz/.safetensors --state, the layer's names start with this")
      ->type_name("PREFIX");
}

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

state_file read_state(const layer_options& o, const bn_config& config) {
  if (o.state.empty()) {
    if (!o.state_prefix.empty()) throw usage_error("--state-prefix needs --state");
    return {};
  }
  const std::string name = input_name(o.state);
  refuse_directory(o.state);
  tensor_format archive_format{};
  if (names_archive(o.state, archive_format)) {
    return {read_state_tensors(*open_archive(o.state, archive_format), o.state_prefix), {}};
  }
  if (o.state != standard_stream && lowercase_extension(o.state) == ".npy") {
    throw usage_error("--state " + name + ": a state is JSON, or an .npz or .safetensors file of " +
                      "tensors, not one .npy tensor");
  }
  if (!o.state_prefix.empty()) {
    throw usage_error("--state-prefix applies to an .npz or .safetensors --state, not " + name);
  }
  const std::string text = read_text_file(o.state);
  state_file state;
  try {
    state = parse_state(text);
  } catch (const data_error& e) {
    throw data_error(name + ": " + e.what() +
                     format_hint(o.state, "a state is JSON, .npz or .safetensors"));
  }
  if (!state.convention.empty() && state.convention != config.conv->name) {
    std::cerr << "bnorm: warning: " << name << " was written under the "
              << nlohmann::json(state.convention).dump() << " convention; this run uses "
              << config.conv->name << '\n';
  }
  return state;
}

void refuse_directory(const std::string& path) {
  struct stat st {};
  if (path != standard_stream && ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    throw io_error(path + ": " + std::strerror(EISDIR));
  }
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

std::string input_name(const std::string& path) {
  return path == standard_stream ? "<stdin>" : path;
}

}  // namespace bnorm::cli
