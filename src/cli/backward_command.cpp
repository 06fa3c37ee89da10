#include "backward_command.hpp"

#include <optional>

#include "archive_rewrite.hpp"
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
  add_input_option(cmd, o.input, o.input_format, o.tensor);
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

int run_backward(const backward_options& o) {
  const bn_config config = make_config(o.layer);
  const codec* in_format = input_format(o.input, o.input_format);
  const codec* out_format = output_format(o.output, o.output_format);
  if (o.input == standard_stream && o.grad_output == standard_stream) {
    throw usage_error("the input and --grad-output cannot both be standard input");
  }
  check_output_paths(
      {{"INPUT", o.input}, {"--grad-output", o.grad_output}, {"--state", o.layer.state}},
      {{"-o", o.output}, {"--grads-out", o.grads_out}}, {{"-o", "INPUT"}});
  check_single_tensor_rewrite({"-o", o.output}, {"INPUT", o.input}, in_format, o.tensor);
  const input_tensor input = open_input_tensor(o.input, in_format, o.tensor);
  const auto& source = input.source;
  // On standard input, the gradient is in --input-format when it is given; else, as a named
  // file is, told by its bytes.
  const auto grad =
      open_input_tensor(o.grad_output, o.grad_output == standard_stream ? in_format : nullptr)
          .source;
  state_file state = read_state(o.layer, config);
  const std::string state_name = o.layer.state.empty() ? "state" : input_name(o.layer.state);
  const bn_plan plan = plan_batch_norm(source->info(), config, std::move(state.state), false,
                                       input_name(o.input), state_name);

  note_plan(plan, false);
  std::vector<std::string> passes{"gradient sums", "grad_input"};
  if (plan.normalize_with_batch_stats) passes.insert(passes.begin(), "statistics");
  announce_passes(passes);

  tensor_info out_info = source->info();
  out_info.type = output_type_for(out_info.type);
  output_file output(o.output);
  const auto sink = (out_format ? *out_format : *input.format).make_sink(output, out_info);
  const bn_gradients grads =
      bnorm::run_backward(plan, *source, *grad, *sink, input_name(o.grad_output));

  std::optional<output_file> grads_file;
  if (!o.grads_out.empty()) {
    nlohmann::ordered_json doc;
    doc["convention"] = config.conv->name;
    doc["mode"] = config.mode == bn_mode::train ? "train" : "eval";
    doc["batch_statistics"] = plan.normalize_with_batch_stats;
    doc["grad_weight"] = grads.grad_weight;
    doc["grad_bias"] = grads.grad_bias;
    grads_file.emplace(o.grads_out);
    grads_file->write(format_json_document(doc));
  }
  commit_together({&output, grads_file ? &*grads_file : nullptr});
  return exit_ok;
}

}  // namespace bnorm::cli
