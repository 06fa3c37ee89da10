#include "apply_command.hpp"

#include <algorithm>
#include <iostream>
#include <optional>

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
namespace {

// A momentum that reads like the other convention's default is the classic porting bug
// (PyTorch's 0.1 is Keras's 0.9): say so, without refusing a value that may be intended.
void warn_about_momentum(const bn_config& config) {
  if (!config.momentum || config.conv->meaning == momentum_meaning::caffe_fraction) return;
  const double m = *config.momentum;
  const bool old_weight = config.conv->meaning == momentum_meaning::old_value_weight;
  if ((old_weight && m < 0.5) || (!old_weight && m > 0.5)) {
    const double old_part = old_weight ? m : 1 - m;
    std::cerr << "bnorm: warning: --momentum " << number_text(m) << " under " << config.conv->name
              << " is the " << describe(config.conv->meaning)
              << ": running = " << number_text(old_part) << "*old + " << number_text(1 - old_part)
              << "*batch; the other meaning writes this as " << number_text(1 - m) << '\n';
  }
}

}  // namespace

CLI::App* add_apply_command(CLI::App& app, apply_options& o) {
  CLI::App* cmd = app.add_subcommand(
      "apply", "Normalize a tensor file with one batch-normalization step (train or eval mode).");
  add_input_option(cmd, o.input, o.input_format, o.tensor);
  add_output_option(cmd, "-o,--output", o.output, o.output_format);
  add_layer_options(cmd, o.layer, layer_flags::apply);
  cmd->add_option("--stats-out", o.stats_out,
                  "Write statistics and updated state as JSON (" +
                      written_extension_names("/", "/", true) + ": the state only)")
      ->type_name("FILE");
  cmd->add_option("--virtual-batch-size", o.virtual_batch_size,
                  "Ghost batch norm: normalize each group of K samples with its own statistics")
      ->type_name("K");
  cmd->add_option("--batch-stats", o.batch_stats,
                  "INPUT is a shard: normalize with these merged statistics (bnorm merge)")
      ->type_name("FILE");
  return cmd;
}

apply_run resolve(const apply_options& o) {
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
  run.files = resolve_route(o.input, o.input_format, o.tensor, o.output, o.output_format);
  check_output_paths(
      {{"INPUT", o.input}, {"--state", o.layer.state}, {"--batch-stats", o.batch_stats}},
      {{"-o", o.output}, {"--stats-out", o.stats_out}},
      {{"-o", "INPUT"}, {"--stats-out", "--state"}});
  check_route_rewrite(run.files, "-o", "INPUT");
  run.update_in_place = !o.stats_out.empty() &&
                        updates_in_place({"--stats-out", o.stats_out}, {"--state", o.layer.state});
  if (!o.stats_out.empty() && !run.update_in_place) {
    // The state is written without --state-prefix, and JSON holds no tensors.
    const bool as_tensors = state_output_format(o.stats_out) && o.layer.state_prefix.empty();
    check_archive_rewrite(
        {"--stats-out", o.stats_out}, {"--state", o.layer.state}, nullptr,
        as_tensors ? state_tensor_names(run.config.affine, run.config.track_running_stats)
                   : std::vector<std::string>{});
  }
  if (o.input == standard_stream && o.layer.state == standard_stream) {
    throw usage_error("the input and --state cannot both be standard input");
  }
  run.stats_out = o.stats_out;
  run.batch_stats = o.batch_stats;
  return run;
}

int run_apply(const apply_run& run) {
  const bn_config& config = run.config;
  warn_about_momentum(config);
  // Only now the input is open (standard input and pipes read whole): a run feeding this
  // one through a pipe may hold the lock until it has written all of its output.
  tensor_pipeline pipeline(run.files);
  const tensor_source& source = pipeline.source();
  const auto state_lock = lock_state_update(run.state.path, run.stats_out);

  read_state_result read = read_state_with_origin(run.state, config);
  state_file& state = read.state;
  const std::string state_name = run.state.path.empty() ? "state" : input_name(run.state.path);

  std::vector<channel_moments> whole_batch;
  if (!run.batch_stats.empty()) {
    const std::string text = read_text_file(run.batch_stats);
    try {
      whole_batch = parse_partial(parse_json_document(text));
    } catch (const data_error& e) {
      throw data_error(
          e, input_name(run.batch_stats) + ": ",
          format_hint(run.batch_stats, "merged statistics are the JSON of bnorm merge"));
    }
  }
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
    const stored_state* stored = read.stored ? &*read.stored : nullptr;
    if (run.update_in_place && stored && read.format->update_set) {
      if (!config.momentum && config.track_running_stats && config.mode == bn_mode::train &&
          std::none_of(
              stored->entries.begin(), stored->entries.end(),
              [](const stored_state_entry& e) { return e.value == "num_batches_tracked"; })) {
        std::cerr
            << "bnorm: warning: " << state_name
            << ": the layer has no num_batches_tracked, and an update in place adds none: the "
               "next run's cumulative average (--momentum none) starts again from its first "
               "batch\n";
      }
      // Read again under the lock, which is held until the new version is committed.
      read.format->update_set(std::make_unique<input_file>(run.state.path), *stats,
                              state_tensors(result.state, config.affine, config.track_running_stats,
                                            {stored, true, nullptr}));
    } else if (const codec* tensors = state_output_format(run.stats_out)) {
      tensors->write_set(*stats,
                         state_tensors(result.state, config.affine, config.track_running_stats,
                                       {stored, false, tensors->written_type}));
    } else {
      stats->write(format_json_document(stats_document(plan, result)));
    }
  }
  pipeline.commit(stats ? &*stats : nullptr);
  return exit_ok;
}

}  // namespace bnorm::cli
