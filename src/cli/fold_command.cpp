#include "fold_command.hpp"

#include "error.hpp"
#include "exit_status.hpp"
#include "file_io.hpp"
#include "file_names.hpp"
#include "fold.hpp"
#include "output_paths.hpp"
#include "run_feedback.hpp"
#include "state_input.hpp"
#include "tensor_files.hpp"

namespace bnorm::cli {

CLI::App* add_fold_command(CLI::App& app, fold_options& o) {
  CLI::App* cmd = app.add_subcommand(
      "fold",
      "Fold an eval-mode batch normalization (--state) into the weight and bias of the linear "
      "or convolution layer before it.");
  cmd->add_option("WEIGHT", o.weight,
                  "The layer's weight, output channels along --axis (default 0, PyTorch's "
                  "(out, in, ...)); - reads standard input")
      ->type_name("FILE")
      ->required();
  cmd->add_option("--input-format", o.input_format,
                  "Format of WEIGHT (else told by its name and first bytes)")
      ->type_name(format_choices());
  add_tensor_option(cmd, o.tensor, "WEIGHT");
  cmd->add_option("--bias", o.bias, "The layer's bias, one value per output channel (else 0)")
      ->type_name("FILE");
  add_output_option(cmd, "-o,--output", o.output, o.output_format, "WEIGHT");
  cmd->add_option("--bias-out", o.bias_out,
                  "Write the folded bias (" + written_extension_names(", ", " or ") + ")")
      ->type_name("FILE")
      ->required();
  add_layer_options(cmd, o.layer, layer_flags::fold);
  return cmd;
}

fold_run resolve(const fold_options& o) {
  fold_run run;
  run.config = make_config(o.layer);
  run.state = state_input_of(o.layer);
  run.files = resolve_route(o.weight, o.input_format, o.tensor, o.output, o.output_format);
  run.bias_out_format = output_format(o.bias_out, "", false);
  check_output_paths({{"WEIGHT", o.weight}, {"--bias", o.bias}, {"--state", o.layer.state}},
                     {{"-o", o.output}, {"--bias-out", o.bias_out}},
                     {{"-o", "WEIGHT"}, {"--bias-out", "--bias"}});
  check_route_rewrite(run.files, "-o", "WEIGHT");
  run.bias = o.bias;
  run.bias_out = o.bias_out;
  return run;
}

int run_fold(const fold_run& run) {
  tensor_pipeline pipeline(run.files);
  const codec& bias_format = run.bias_out_format ? *run.bias_out_format : pipeline.input_format();
  refuse_unwritable(run.bias_out, bias_format);
  std::vector<double> bias;
  if (!run.bias.empty()) {
    const auto source = open_input_tensor(run.bias, nullptr, {}, false, false).source;
    bias.resize(source->info().element_count());
    source->read_at(0, bias);
  }
  read_state_result read = read_state(run.state, run.config);
  const bn_config& config = read.config;
  state_file& state = read.state;

  announce_passes({"fold"});

  const tensor_info out_info = pipeline.output_info();
  tensor_sink& sink = pipeline.open_output(out_info);
  const std::vector<double> folded_bias =
      fold_batch_norm(pipeline.source(), config.axis, bias, config, std::move(state.state), sink,
                      input_name(run.files.input), input_name(run.state.path));

  output_file bias_file(run.bias_out);
  const tensor_info bias_info{out_info.type, {folded_bias.size()}, false};
  refuse_binary_on_terminal(run.bias_out, bias_format, false);
  const auto bias_sink = bias_format.make_sink(bias_file, bias_info);
  bias_sink->write_at(0, folded_bias);
  bias_sink->finish();
  pipeline.commit(&bias_file);
  return exit_ok;
}

}  // namespace bnorm::cli
