#include "convert_command.hpp"

#include "archive_rewrite.hpp"
#include "error.hpp"
#include "exit_status.hpp"
#include "output_paths.hpp"
#include "passes.hpp"
#include "run_feedback.hpp"
#include "tensor_files.hpp"

namespace bnorm::cli {

CLI::App* add_convert_command(CLI::App& app, convert_options& o) {
  CLI::App* cmd = app.add_subcommand("convert", "Convert a tensor between formats (" +
                                                    format_names(", ", " and ") +
                                                    ") and between floating types.");
  add_input_option(cmd, o.input, o.input_format, o.tensor);
  add_output_option(cmd, "OUTPUT", o.output, o.output_format);
  cmd->add_option("--dtype", o.dtype,
                  "Output type (default: the input's floating type; integers and bool become "
                  "float32; a format without the type writes the nearest one it holds)")
      ->type_name("float16|float32|float64|bfloat16");
  return cmd;
}

int run_convert(const convert_options& o) {
  const codec* in_format = input_format(o.input, o.input_format);
  const codec* out_format = output_format(o.output, o.output_format);
  check_output_paths({{"INPUT", o.input}}, {{"OUTPUT", o.output}}, {{"OUTPUT", "INPUT"}});
  check_single_tensor_rewrite({"OUTPUT", o.output}, {"INPUT", o.input}, in_format, o.tensor);
  dtype type{};
  const bool explicit_type = !o.dtype.empty();
  if (o.dtype == "float16")
    type = dtype::float16();
  else if (o.dtype == "float32")
    type = dtype::float32();
  else if (o.dtype == "float64")
    type = dtype::float64();
  else if (o.dtype == "bfloat16")
    type = dtype::bfloat16();
  else if (explicit_type) {
    throw usage_error("--dtype takes float16, float32, float64 or bfloat16, not '" + o.dtype + "'");
  }

  const input_tensor input = open_input_tensor(o.input, in_format, o.tensor);
  const auto& source = input.source;
  tensor_info out_info = source->info();
  out_info.type = explicit_type ? type : output_type_for(out_info.type);
  output_file output(o.output);
  const auto sink = (out_format ? *out_format : *input.format).make_sink(output, out_info);
  announce_passes({"convert"});
  stream_groups(*source, sink->parallel(),
                [&](std::size_t, std::size_t p, double* x, std::size_t n) {
                  sink->write_at(p, std::span<const double>(x, n));
                });
  sink->finish();
  output.commit();
  return exit_ok;
}

}  // namespace bnorm::cli
