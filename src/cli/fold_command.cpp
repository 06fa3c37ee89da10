// SPDX-License-Identifier: Apache-2.0
#include "fold_command.hpp"

#include <unistd.h>
#include <CLI/CLI.hpp>

#include <optional>

#include "error.hpp"
#include "exit_status.hpp"
#include "file_io.hpp"
#include "file_names.hpp"
#include "fold.hpp"
#include "fold_report.hpp"
#include "formats/registry.hpp"
#include "json_document.hpp"
#include "output_paths.hpp"
#include "run_feedback.hpp"
#include "state_input.hpp"
#include "tensor_files.hpp"

namespace bnorm::cli {

namespace {

// The formats of named tensors a weight is picked from: "a .pt/.npz/.safetensors".  A model's
// (fold_model) is no weight's: every layer of it is folded.
std::string weight_archives() {
  std::string article, extensions;
  for (const codec* format : all_codecs()) {
    if (!format->holds_many || format->fold_model) continue;
    if (article.empty()) article = format->a_file.substr(0, format->a_file.find(' '));
    extensions += (extensions.empty() ? "" : "/") + std::string(format->extensions.front());
  }
  return article + " " + extensions;
}

}  // namespace

CLI::App* add_fold_command(CLI::App& app, fold_options& o) {
  CLI::App* cmd = app.add_subcommand(
      "fold",
      "Fold an eval-mode batch normalization (--state) into the weight and bias of the linear "
      "or convolution layer before it; or every one of a model's that it can, each into its "
      "layer, with a report.");
  cmd->add_option("WEIGHT", o.weight,
                  "The layer's weight, output channels along --axis (default 0, PyTorch's "
                  "(out, in, ...)); or a model whose every foldable batch normalization is "
                  "folded, with its own parameters; - reads standard input")
      ->type_name("FILE")
      ->required();
  cmd->add_option("--input-format", o.input_format,
                  "Format of WEIGHT (else told by its name and first bytes)")
      ->type_name(format_choices());
  add_tensor_option(cmd, o.tensor, "WEIGHT");
  cmd->get_option("--tensor")
      ->description("The tensor to read from " + weight_archives() + " WEIGHT");
  cmd->add_option("--bias", o.bias, "The layer's bias, one value per output channel (else 0)")
      ->type_name("FILE");
  add_output_option(cmd, "-o,--output", o.output, o.output_format, "WEIGHT");
  cmd->get_option("-o")->required(false)->description(
      "The folded weight, " + written_extension_names(", ", " or ") +
      "; or the folded model, in its own format (without -o a model is not written: its report "
      "alone is printed); - writes standard output");
  // A model's own format is a fold's output too, though no tensor is written in it.
  cmd->get_option("--output-format")
      ->type_name(format_choices())
      ->description("Format of -o (else its name's, or WEIGHT's for -); a model's is its own");
  cmd->add_option("--bias-out", o.bias_out,
                  "Write the folded bias (" + written_extension_names(", ", " or ") +
                      "); required for a weight")
      ->type_name("FILE");
  cmd->add_option("--format", o.format,
                  "A model's report: text (default) or json, on standard output (standard error "
                  "when -o is -)")
      ->type_name("text|json");
  add_layer_options(cmd, o.layer, layer_flags::fold);
  o.command = cmd;
  return cmd;
}

namespace {

bool given(const fold_options& o, const std::string& flag, bool by_value) {
  return o.command ? o.command->count(flag) > 0 : by_value;
}

fold_run resolve_weight(const fold_options& o) {
  // As the parser says it of a flag it requires; a model needs neither.
  if (o.output.empty()) throw usage_error("--output is required");
  if (o.bias_out.empty()) throw usage_error("--bias-out is required");
  if (given(o, "--format", !o.format.empty())) {
    throw usage_error("--format is the report of a model's fold; " + input_name(o.weight) +
                      " is read as a weight tensor");
  }
  fold_run run;
  run.what = fold_run::kind::weight;
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

bool json_report(const fold_options& o) {
  if (o.format.empty() || o.format == "text") return false;
  if (o.format == "json") return true;
  throw usage_error("--format takes text or json, not '" + o.format + "'");
}

fold_model_run resolve_model(const fold_options& o, const codec& format) {
  const std::pair<const char*, bool> weight_flags[] = {
      {"--bias", !o.bias.empty()},
      {"--bias-out", !o.bias_out.empty()},
      {"--tensor", !o.tensor.empty()},
      {"--state", !o.layer.state.empty()},
      {"--state-prefix", !o.layer.state_prefix.empty()},
      {"--eps", !o.layer.eps.empty()},
      {"--axis", o.layer.axis != "0"},
      {"--convention", o.layer.convention != "torch"}};
  for (const auto& [flag, by_value] : weight_flags) {
    if (given(o, flag, by_value)) {
      throw usage_error(std::string(flag) + " is for a weight tensor; " + input_name(o.weight) +
                        " is a model, whose batch normalizations are folded with their own "
                        "parameters");
    }
  }
  fold_model_run run{o.weight, &format, o.output, json_report(o)};
  if (!o.output.empty()) {
    const codec* named = named_format(o.output_format);
    // A model is written in its own format: a name whose extension no format has tells nothing.
    const codec* written = named ? named : codec_for_path(o.output);
    if (written && written != &format) {
      throw usage_error("-o " + o.output + ": the folded model is " + std::string(format.a_file) +
                        ", not " + std::string(written->a_file));
    }
    refuse_binary_on_terminal(o.output, format);
    check_output_paths({{"WEIGHT", o.weight}}, {{"-o", o.output}}, {{"-o", "WEIGHT"}});
  } else if (given(o, "--output-format", !o.output_format.empty())) {
    throw usage_error("--output-format is the format of -o, which is not given");
  }
  return run;
}

int run_weight(const fold_run& run, std::optional<opened_input> opened) {
  tensor_pipeline pipeline =
      opened ? tensor_pipeline(run.files, std::move(*opened)) : tensor_pipeline(run.files);
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

int run_model(const fold_model_run& run, opened_input input) {
  std::optional<output_file> out;
  if (!run.output.empty()) out.emplace(run.output);
  const model_fold_report report =
      run.format->fold_model(std::move(input.file), out ? &*out : nullptr);
  if (out) out->commit();
  const std::string text =
      run.json ? format_json_document(fold_report_json(report, input_name(run.model)))
               : fold_report_text(report);
  // The model on standard output leaves the report standard error.
  const bool model_on_stdout =
      run.output == standard_stream || descriptor_named(run.output) == STDOUT_FILENO;
  output_file report_file(model_on_stdout ? "/dev/stderr" : std::string(standard_stream));
  report_file.write(text);
  report_file.commit();
  return exit_ok;
}

}  // namespace

fold_run resolve(const fold_options& o) {
  const codec* named = input_format(o.weight, o.input_format);
  const codec* told = named ? named : codec_for_path(o.weight);
  fold_run run;
  if (!told) {
    json_report(o);
    run.what = fold_run::kind::told_by_bytes;
    run.options = o;
    return run;
  }
  if (!told->fold_model) return resolve_weight(o);
  run.what = fold_run::kind::model;
  run.model = resolve_model(o, *told);
  return run;
}

int run_fold(const fold_run& run) {
  switch (run.what) {
    case fold_run::kind::weight:
      return run_weight(run, std::nullopt);
    case fold_run::kind::model:
      return run_model(run.model, open_input(run.model.model, run.model.format));
    case fold_run::kind::told_by_bytes:
      break;
  }
  opened_input input = open_input(run.options.weight);
  if (input.format->fold_model) {
    return run_model(resolve_model(run.options, *input.format), std::move(input));
  }
  return run_weight(resolve_weight(run.options), std::move(input));
}

}  // namespace bnorm::cli
