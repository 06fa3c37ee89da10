// SPDX-License-Identifier: Apache-2.0
#include "convert_command.hpp"

#include <CLI/CLI.hpp>

#include "error.hpp"
#include "exit_status.hpp"
#include "formats/registry.hpp"
#include "output_paths.hpp"
#include "passes.hpp"
#include "run_feedback.hpp"
#include "tensor_files.hpp"

namespace bnorm::cli {

namespace {

// The formats bnorm reads but writes no tensor as, for the summary: ", and out of onnx".
std::string read_only_formats() {
  std::string names;
  for (const codec* format : all_codecs()) {
    if (format->make_sink) continue;
    names += (names.empty() ? std::string() : std::string(", ")) + std::string(format->name);
  }
  return names.empty() ? names : ", and out of " + names;
}

}  // namespace

CLI::App* add_convert_command(CLI::App& app, convert_options& o) {
  CLI::App* cmd = app.add_subcommand(
      "convert", "Convert a tensor between formats (" + written_format_names(", ", " and ") +
                     read_only_formats() + ") and between floating types.");
  add_input_option(cmd, o.input, o.input_format, o.tensor, o.missing);
  add_output_option(cmd, "OUTPUT", o.output, o.output_format);
  // -o as apply, backward, fold and merge take their output; OUTPUT stays, so that no
  // command written before breaks.  One of the two is required (resolve).
  CLI::Option* positional = cmd->get_option("OUTPUT");
  positional->required(false);
  positional->description(positional->get_description() + "; or give it as -o");
  cmd->add_option("-o,--output", o.output_flag,
                  "OUTPUT given as an option, as apply, backward, fold and merge take theirs")
      ->type_name("FILE")
      ->excludes(positional);
  cmd->add_option("--dtype", o.dtype,
                  "Output type (default: the input's floating type; integers and bool become "
                  "float32; a format without the type writes the nearest one it holds)")
      ->type_name("float16|float32|float64|bfloat16");
  return cmd;
}

convert_run resolve(const convert_options& o) {
  convert_run run;
  const bool by_flag = !o.output_flag.empty();
  const std::string& output = by_flag ? o.output_flag : o.output;
  const std::string role = by_flag ? "-o" : "OUTPUT";
  if (output.empty()) throw usage_error("OUTPUT or --output is required");
  run.files = resolve_route(o.input, o.input_format, o.tensor, output, o.output_format,
                            resolve_read_options(o.missing));
  check_output_paths({{"INPUT", o.input}}, {{role, output}}, {{role, "INPUT"}});
  check_route_rewrite(run.files, role, "INPUT");
  if (o.dtype == "float16")
    run.type = dtype::float16();
  else if (o.dtype == "float32")
    run.type = dtype::float32();
  else if (o.dtype == "float64")
    run.type = dtype::float64();
  else if (o.dtype == "bfloat16")
    run.type = dtype::bfloat16();
  else if (!o.dtype.empty()) {
    throw usage_error("--dtype takes float16, float32, float64 or bfloat16, not '" + o.dtype + "'");
  }
  return run;
}

int run_convert(const convert_run& run) {
  tensor_pipeline pipeline(run.files);
  tensor_sink& sink = pipeline.open_output(pipeline.output_info(run.type));
  announce_passes({"convert"});
  stream_groups(pipeline.source(), sink.parallel(),
                [&](std::size_t, std::size_t p, double* x, std::size_t n) {
                  sink.write_at(p, std::span<const double>(x, n));
                });
  sink.finish();
  pipeline.commit();
  return exit_ok;
}

}  // namespace bnorm::cli
