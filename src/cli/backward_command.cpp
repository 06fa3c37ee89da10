// SPDX-License-Identifier: Apache-2.0
#include "backward_command.hpp"

#include <CLI/CLI.hpp>
#include <optional>

#include "backward.hpp"
#include "error.hpp"
#include "exit_status.hpp"
#include "file_io.hpp"
#include "file_names.hpp"
#include "json_document.hpp"
#include "output_paths.hpp"
#include "run_feedback.hpp"
#include "state_input.hpp"
#include "tensor_files.hpp"

namespace bnorm::cli {

CLI::App* add_backward_command(CLI::App& app, backward_options& o) {
  CLI::App* cmd = app.add_subcommand(
      "backward",
      "Gradient of the input (and of weight and bias) of one batch-normalization step, as "
      "PyTorch's autograd computes it.");
  add_input_option(cmd, o.input, o.input_format, o.tensor, o.missing);
  cmd->add_option("--grad-output", o.grad_output,
                  "Gradient of the step's output: same shape and order as INPUT")
      ->type_name("FILE")
      ->required();
  add_output_option(cmd, "-o,--output", o.output, o.output_format);
  cmd->add_option("--grads-out", o.grads_out, "Write grad_weight and grad_bias as JSON")
      ->type_name("FILE");
  add_layer_options(cmd, o.layer, layer_flags::backward);
  return cmd;
}

backward_run resolve(const backward_options& o) {
  backward_run run;
  run.config = make_config(o.layer);
  run.state = state_input_of(o.layer);
  run.files = resolve_route(o.input, o.input_format, o.tensor, o.output, o.output_format,
                            resolve_read_options(o.missing));
  if (o.input == standard_stream && o.grad_output == standard_stream) {
    throw usage_error("the input and --grad-output cannot both be standard input");
  }
  check_output_paths(
      {{"INPUT", o.input}, {"--grad-output", o.grad_output}, {"--state", o.layer.state}},
      {{"-o", o.output}, {"--grads-out", o.grads_out}}, {{"-o", "INPUT"}});
  check_route_rewrite(run.files, "-o", "INPUT");
  run.grad_output = o.grad_output;
  run.grads_out = o.grads_out;
  return run;
}

int run_backward(const backward_run& run) {
  tensor_pipeline pipeline(run.files);
  const tensor_source& source = pipeline.source();
  // On standard input the gradient is in --input-format when it is given; else, as a named
  // file is, told by its bytes.
  const bool on_stdin = run.grad_output == standard_stream;
  const auto grad = open_input_tensor(run.grad_output, on_stdin ? run.files.input_format : nullptr,
                                      {}, on_stdin, false, run.files.reading)
                        .source;
  read_state_result read = read_state(run.state, run.config);
  const bn_config& config = read.config;
  state_file& state = read.state;
  const std::string state_name = run.state.path.empty() ? "state" : input_name(run.state.path);
  const bn_plan plan = plan_batch_norm(source.info(), config, std::move(state.state), false,
                                       input_name(run.files.input), state_name);

  note_plan(plan, false);
  std::vector<std::string> passes{"gradient sums", "grad_input"};
  if (plan.normalize_with_batch_stats) passes.insert(passes.begin(), "statistics");
  announce_passes(passes);

  tensor_sink& sink = pipeline.open_output(pipeline.output_info());
  const bn_gradients grads =
      bnorm::run_backward(plan, source, *grad, sink, input_name(run.grad_output));

  std::optional<output_file> grads_file;
  if (!run.grads_out.empty()) {
    nlohmann::ordered_json doc;
    doc["convention"] = config.conv->name;
    doc["mode"] = config.mode == bn_mode::train ? "train" : "eval";
    doc["batch_statistics"] = plan.normalize_with_batch_stats;
    doc["grad_weight"] = grads.grad_weight;
    doc["grad_bias"] = grads.grad_bias;
    grads_file.emplace(run.grads_out);
    grads_file->write(format_json_document(doc));
  }
  pipeline.commit(grads_file ? &*grads_file : nullptr);
  return exit_ok;
}

}  // namespace bnorm::cli
