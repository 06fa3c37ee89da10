// SPDX-License-Identifier: Apache-2.0
#include "apply_command.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <optional>
#include <thread>

#include "apply_many.hpp"
#include "archive_rewrite.hpp"
#include "batch_norm.hpp"
#include "error.hpp"
#include "exit_status.hpp"
#include "file_io.hpp"
#include "file_names.hpp"
#include "formats/registry.hpp"
#include "json_document.hpp"
#include "number_text.hpp"
#include "output_paths.hpp"
#include "parse_number.hpp"
#include "partial_stats.hpp"
#include "run_feedback.hpp"
#include "state_input.hpp"
#include "state_lock.hpp"
#include "state_tensors.hpp"
#include "tensor_files.hpp"

namespace bnorm::cli {

CLI::App* add_apply_command(CLI::App& app, apply_options& o) {
  CLI::App* cmd = app.add_subcommand(
      "apply", "Normalize a tensor file with one batch-normalization step (train or eval mode).");
  cmd->add_option(
         "INPUT", o.inputs.paths,
         input_description() + "; a folder: its files; several: each to -o DIR/ under its name")
      ->type_name("FILE");
  add_input_reading_options(cmd, o.input_format, o.tensor, o.missing);
  add_input_list_options(cmd, o.inputs);
  add_output_option(cmd, "-o,--output", o.output, o.output_format);
  CLI::Option* output = cmd->get_option("-o");
  output->required(false)->type_name("FILE|DIR/");
  output->description(output->get_description() + "; DIR/: each INPUT under its name");
  cmd->add_flag("--no-output", o.no_output,
                "Write no normalized tensors, only --stats-out (recalibrate running statistics)");
  cmd->add_flag(
      "--reset-running-stats", o.reset_running_stats,
      "Start from running_mean 0, running_var 1, num_batches_tracked 0 (update_bn's reset)");
  cmd->add_option("-j,--threads", o.threads, "Files normalized at once (default: one per core)")
      ->type_name("N");
  add_layer_options(cmd, o.layer, layer_flags::apply);
  cmd->add_option("--stats-out", o.stats_out,
                  "Write statistics and updated state as JSON (" +
                      written_extension_names("/", "/", true) + ": the state only)")
      ->type_name("FILE");
  cmd->add_option("--virtual-batch-size", o.virtual_batch_size,
                  "Ghost batch norm: normalize each group of K samples with its own statistics")
      ->type_name("K");
  cmd->add_option(
         "--batch-stats", o.batch_stats,
         "INPUT is a shard: normalize with these statistics of the whole batch (bnorm merge, or "
         "stats --format json)")
      ->type_name("FILE");
  return cmd;
}

apply_run resolve(const apply_options& o) {
  if (o.inputs.paths.empty() && o.inputs.files_from.empty()) {
    throw usage_error("INPUT is required");
  }
  if (o.output.empty() && !o.no_output) {
    // `apply a.npy b.npy`, written as convert is, reads b.npy as a second input; when no such
    // file exists, b.npy was meant as the output.  (One that exists may be a second input.)
    std::error_code absent;
    if (o.inputs.paths.size() == 2 && !std::filesystem::exists(o.inputs.paths.back(), absent)) {
      throw usage_error("--output is required: every positional argument is an input (write -o " +
                        o.inputs.paths.back() + " to name the output)");
    }
    throw usage_error("--output is required");
  }
  apply_run run;
  run.config = make_config(o.layer);
  if (!o.virtual_batch_size.empty()) {
    const long long k = parse_integer(o.virtual_batch_size, "--virtual-batch-size");
    if (k < 1) throw usage_error("--virtual-batch-size must be at least 1");
    if (!o.batch_stats.empty()) {
      throw usage_error(
          "--virtual-batch-size splits the batch for its statistics, which --batch-stats gives "
          "for the whole batch");
    }
    // Eval mode normalizes with the running statistics, unless none are tracked.
    if (run.config.mode == bn_mode::eval && run.config.track_running_stats) {
      throw usage_error(
          "--virtual-batch-size splits the batch for its statistics, which eval mode does not "
          "use");
    }
    run.config.virtual_batch_size = static_cast<std::size_t>(k);
  }
  run.state = state_input_of(o.layer);
  run.threads = std::max(1u, std::thread::hardware_concurrency());
  if (!o.threads.empty()) {
    const long long n = parse_integer(o.threads, "-j/--threads");
    if (n < 1) throw usage_error("-j/--threads must be at least 1");
    run.threads = static_cast<std::size_t>(n);
  }
  run.reset_running_stats = o.reset_running_stats;
  // A folder of inputs that holds -o DIR/ or --stats-out is walked without them.
  const std::vector<std::string> inputs = expand_inputs(o.inputs, {o.output, o.stats_out});
  if (applies_to_many(inputs, o.output, o.no_output)) {
    resolve_many(o, inputs, run);
    run.stats_out = o.stats_out;
    run.batch_stats = o.batch_stats;
    return run;
  }
  const std::string& input = inputs.front();
  run.files = resolve_route(input, o.input_format, o.tensor, o.output, o.output_format,
                            resolve_read_options(o.missing));
  check_output_paths(
      {{"INPUT", input}, {"--state", o.layer.state}, {"--batch-stats", o.batch_stats}},
      {{"-o", o.output}, {"--stats-out", o.stats_out}},
      {{"-o", "INPUT"}, {"--stats-out", "--state"}});
  check_route_rewrite(run.files, "-o", "INPUT");
  resolve_stats_out(o, run);
  if (input == standard_stream && o.layer.state == standard_stream) {
    throw usage_error("the input and --state cannot both be standard input");
  }
  run.stats_out = o.stats_out;
  run.batch_stats = o.batch_stats;
  return run;
}

int run_apply(const apply_run& run) {
  if (!run.many.empty()) return run_apply_many(run);
  warn_about_momentum(run.config);
  // Only now the input is open (standard input and pipes read whole): a run feeding this
  // one through a pipe may hold the lock until it has written all of its output.
  tensor_pipeline pipeline(run.files);
  const tensor_source& source = pipeline.source();
  const auto state_lock = lock_state_update(run.state.path, run.stats_out);

  read_state_result read = read_state(run.state, run.config, true);
  if (run.reset_running_stats) reset_running_statistics(read.state.state);
  const bn_config& config = read.config;
  state_file& state = read.state;
  const std::string state_name = run.state.path.empty() ? "state" : input_name(run.state.path);

  const std::vector<channel_moments> whole_batch = read_batch_statistics(run.batch_stats);
  const bn_plan plan = plan_batch_norm(source.info(), config, std::move(state.state),
                                       !run.stats_out.empty(), input_name(run.files.input),
                                       state_name, run.batch_stats.empty() ? nullptr : &whole_batch,
                                       input_name(run.batch_stats));

  note_plan(plan);
  announce_passes(batch_norm_passes(plan));

  tensor_sink& sink = pipeline.open_output(pipeline.output_info());
  const bn_result result = run_batch_norm(plan, source, sink);

  std::optional<output_file> stats;
  if (!run.stats_out.empty()) {
    stats.emplace(run.stats_out);
    write_stats_out(run, read, result, *stats, stats_document(plan, result));
  }
  pipeline.commit(stats ? &*stats : nullptr);
  return exit_ok;
}

}  // namespace bnorm::cli
