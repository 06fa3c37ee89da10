// SPDX-License-Identifier: Apache-2.0
#include "apply_run.hpp"

#include <algorithm>
#include <iostream>

#include "archive_rewrite.hpp"
#include "error.hpp"
#include "file_names.hpp"
#include "json_document.hpp"
#include "number_text.hpp"
#include "partial_stats.hpp"
#include "state_file.hpp"
#include "state_tensors.hpp"
#include "tensor_files.hpp"

namespace bnorm::cli {

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

void reset_running_statistics(bn_state& state) {
  state.running_mean.clear();  // the plan fills PyTorch's initial values
  state.running_var.clear();
  state.num_batches_tracked = 0;
}

std::vector<channel_moments> read_batch_statistics(const std::string& path) {
  if (path.empty()) return {};
  const std::string text = read_text_file(path);
  try {
    return parse_batch_statistics(parse_json_document(text));
  } catch (const data_error& e) {
    throw data_error(e, input_name(path) + ": ",
                     format_hint(path, "merged statistics are the JSON of bnorm merge"));
  }
}

void resolve_stats_out(const apply_options& o, apply_run& run) {
  run.update_in_place = !o.stats_out.empty() &&
                        updates_in_place({"--stats-out", o.stats_out}, {"--state", o.layer.state});
  if (o.stats_out.empty() || run.update_in_place) return;
  // The state is written without --state-prefix, and JSON holds no tensors.
  const bool as_tensors = state_output_format(o.stats_out) && o.layer.state_prefix.empty();
  check_archive_rewrite({"--stats-out", o.stats_out}, {"--state", o.layer.state}, nullptr,
                        as_tensors
                            ? state_tensor_names(run.config.affine, run.config.track_running_stats)
                            : std::vector<std::string>{});
}

void write_stats_out(const apply_run& run, read_state_result& read, const bn_result& result,
                     output_file& stats, const nlohmann::ordered_json& document) {
  const bn_config& config = read.config;
  const std::string state_name = run.state.path.empty() ? "state" : input_name(run.state.path);
  const stored_state* stored = read.stored ? &*read.stored : nullptr;
  if (run.update_in_place && stored && read.format->update_set) {
    if (!config.momentum && config.track_running_stats && config.mode == bn_mode::train &&
        std::none_of(
            stored->entries.begin(), stored->entries.end(),
            [](const stored_state_entry& e) { return e.value == "num_batches_tracked"; })) {
      std::cerr << "bnorm: warning: " << state_name
                << ": the layer has no num_batches_tracked, and an update in place adds none: the "
                   "next run's cumulative average (--momentum none) starts again from its first "
                   "batch\n";
    }
    // Read again under the lock, which is held until the new version is committed.
    read.format->update_set(std::make_unique<input_file>(run.state.path), stats,
                            state_tensors(result.state, config.affine, config.track_running_stats,
                                          {stored, true, nullptr}));
  } else if (const codec* tensors = state_output_format(run.stats_out)) {
    tensors->write_set(stats, state_tensors(result.state, config.affine, config.track_running_stats,
                                            {stored, false, tensors->written_type}));
  } else {
    stats.write(format_json_document(document));
  }
}

}  // namespace bnorm::cli
