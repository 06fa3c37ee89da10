#include "apply_command.hpp"

#include <iostream>

#include "batch_norm.hpp"
#include "error.hpp"
#include "exit_status.hpp"
#include "file_io.hpp"
#include "json_document.hpp"
#include "parse_number.hpp"
#include "state_file.hpp"
#include "tensor_io.hpp"

namespace bnorm::cli {
namespace {

bn_config make_config(const apply_options& o) {
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
  config.affine = !o.no_affine;
  config.track_running_stats = !o.no_track_running_stats;
  return config;
}

tensor_format resolve_format(const std::string& path, const std::string& flag_value,
                             const char* flag) {
  if (!flag_value.empty()) return parse_format(flag_value);
  if (path == standard_stream) {
    throw usage_error(std::string("'-' has no extension to tell its format: give ") + flag +
                      " npy or json");
  }
  return format_from_extension(path);
}

// A momentum that reads like the other convention's default is the classic porting bug
// (PyTorch's 0.1 is Keras's 0.9): say so, without refusing a value that may be intended.
void warn_about_momentum(const bn_config& config) {
  if (!config.momentum) return;
  const double m = *config.momentum;
  const bool old_weight = config.conv->meaning == momentum_meaning::old_value_weight;
  if ((old_weight && m < 0.5) || (!old_weight && m > 0.5)) {
    const double old_part = old_weight ? m : 1 - m;
    std::cerr << "bnorm: warning: --momentum " << m << " under " << config.conv->name << " is the "
              << describe(config.conv->meaning) << ": running = " << old_part << "*old + "
              << 1 - old_part << "*batch; the other meaning writes this as " << 1 - m << '\n';
  }
}

}  // namespace

CLI::App* add_apply_command(CLI::App& app, apply_options& o) {
  CLI::App* cmd = app.add_subcommand(
      "apply", "Normalize a tensor file with one batch-normalization step (train or eval mode).");
  cmd->add_option("INPUT", o.input, "Input tensor, .npy or .json; - reads standard input")
      ->type_name("FILE")
      ->required();
  cmd->add_option("-o,--output", o.output, "Output tensor, .npy or .json; - writes standard output")
      ->type_name("FILE")
      ->required();
  cmd->add_option("--input-format", o.input_format, "Format of INPUT (needed for -)")
      ->type_name("npy|json");
  cmd->add_option("--output-format", o.output_format, "Format of OUTPUT (needed for -)")
      ->type_name("npy|json");
  cmd->add_option("--mode", o.mode, "train: batch statistics; eval: running statistics")
      ->type_name("train|eval")
      ->capture_default_str();
  cmd->add_option("--convention", o.convention, "Defaults, and the meaning of --momentum")
      ->type_name("torch|keras|onnx")
      ->capture_default_str();
  cmd->add_option("--eps", o.eps, "Added to the variance (torch 1e-5, keras 1e-3, onnx 1e-5)")
      ->type_name("E");
  cmd->add_option("--momentum", o.momentum,
                  "In the convention's meaning (torch 0.1, keras 0.99, onnx 0.9); none = "
                  "cumulative average")
      ->type_name("M|none");
  cmd->add_option("--axis", o.axis,
                  "Channel axis, negative from the end (torch 1, keras -1, onnx 1)")
      ->type_name("A");
  cmd->add_flag("--no-affine", o.no_affine, "No weight and bias (affine=False)");
  cmd->add_flag("--no-track-running-stats", o.no_track_running_stats,
                "Batch statistics in both modes, no running state (track_running_stats=False)");
  cmd->add_option("--state", o.state, "JSON state to start from (weight, bias, running_*, ...)")
      ->type_name("FILE");
  cmd->add_option("--stats-out", o.stats_out, "Write statistics and updated state as JSON")
      ->type_name("FILE");
  return cmd;
}

int run_apply(const apply_options& o) {
  const bn_config config = make_config(o);
  const tensor_format in_format = resolve_format(o.input, o.input_format, "--input-format");
  const tensor_format out_format = resolve_format(o.output, o.output_format, "--output-format");
  if (o.output == standard_stream && o.stats_out == standard_stream) {
    throw usage_error("the output and --stats-out cannot both be standard output");
  }
  if (o.input == standard_stream && o.state == standard_stream) {
    throw usage_error("the input and --state cannot both be standard input");
  }
  warn_about_momentum(config);

  const auto source = open_tensor(o.input, in_format);
  const std::string input_name = o.input == standard_stream ? "<stdin>" : o.input;

  state_file state;
  std::string state_name = "state";
  if (!o.state.empty()) {
    state_name = o.state == standard_stream ? "<stdin>" : o.state;
    const std::string text = read_text_file(o.state);
    try {
      state = parse_state(text);
    } catch (const data_error& e) {
      throw data_error(state_name + ": " + e.what());
    }
    if (!state.convention.empty() && state.convention != config.conv->name) {
      std::cerr << "bnorm: warning: " << state_name << " was written under the " << state.convention
                << " convention; this run uses " << config.conv->name << '\n';
    }
  }

  const bn_plan plan = plan_batch_norm(source->info(), config, std::move(state.state),
                                       !o.stats_out.empty(), input_name, state_name);

  tensor_info out_info = source->info();
  out_info.type = output_type_for(out_info.type);
  output_file output(o.output);
  const auto sink = make_sink(output, out_format, out_info);
  const bn_result result = run_batch_norm(plan, *source, *sink);

  if (!o.stats_out.empty()) {
    output_file stats(o.stats_out);
    stats.write(format_json_document(stats_document(plan, result)));
    output.commit();
    stats.commit();
  } else {
    output.commit();
  }
  return exit_ok;
}

}  // namespace bnorm::cli
