// SPDX-License-Identifier: Apache-2.0
#include "run_feedback.hpp"

#include <unistd.h>
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <iostream>

#include "count_text.hpp"
#include "number_text.hpp"
#include "progress.hpp"
#include "progress_bar.hpp"

namespace bnorm::cli {
namespace {

bool verbose_run = false;
progress_bar* current_bar = nullptr;

// Seconds a pass must be expected to take before its bar is drawn (BNORM_PROGRESS_THRESHOLD).
std::chrono::duration<double> progress_threshold() {
  const char* text = std::getenv("BNORM_PROGRESS_THRESHOLD");
  if (text && *text) {
    char* end = nullptr;
    const double seconds = std::strtod(text, &end);
    if (*end == '\0' && seconds >= 0) return std::chrono::duration<double>(seconds);
  }
  return std::chrono::seconds(1);
}

// The weight of this step's batch in the running statistics, from update_running_stats
// itself (one channel, running_mean 0, batch mean 1), so that no convention's arithmetic is
// written twice.
double new_batch_weight(const bn_plan& plan) {
  bn_state probe;
  probe.weight = {1};
  probe.bias = {0};
  probe.running_mean = {0};
  probe.running_var = {0};
  probe.num_batches_tracked = plan.state.num_batches_tracked;
  channel_moments batch;
  batch.count = 2;
  batch.mean = 1;
  return update_running_stats(plan.config, probe, {batch}).running_mean[0];
}

}  // namespace

void add_feedback_options(CLI::App* cmd, feedback_options& o, const std::string& reported) {
  cmd->add_flag("-q,--quiet", o.quiet, "No progress bar on a terminal (warnings still print)");
  cmd->add_flag("-v,--verbose", o.verbose, "Report " + reported + " on stderr");
}

feedback_run resolve(const feedback_options& o) {
  return {o.verbose, !o.quiet && ::isatty(STDERR_FILENO)};
}

run_feedback::run_feedback(const feedback_run& run) {
  verbose_run = run.verbose;
  if (run.progress_bar) {
    bar_ = std::make_unique<progress_bar>(STDERR_FILENO, progress_threshold());
    current_bar = bar_.get();
    set_progress_observer(bar_.get());
  }
}

run_feedback::~run_feedback() {
  set_progress_observer(nullptr);
  current_bar = nullptr;
  verbose_run = false;
}

void note(const std::string& line) {
  if (verbose_run) std::cerr << "bnorm: " << line << '\n';
}

void announce_passes(const std::vector<std::string>& names) {
  if (current_bar) current_bar->name_passes(names);
  if (!verbose_run) return;
  std::string list;
  for (const std::string& name : names) list += (list.empty() ? "" : ", ") + name;
  note(std::to_string(names.size()) + (names.size() == 1 ? " pass" : " passes") +
       " over the data: " + list);
}

void label_next_pass(const std::string& label) {
  if (current_bar) current_bar->name_passes({label});
}

std::vector<std::string> batch_norm_passes(const bn_plan& plan) {
  if (!plan.normalize_with_batch_stats || !plan.whole_batch.empty()) return {"normalize"};
  if (plan.config.virtual_batch_size > 0) return {"statistics of the virtual batches", "normalize"};
  return {"statistics", "normalize"};
}

namespace {

// The momentum as the weight of the new batch, or why it is unused.
void note_momentum(const bn_plan& plan) {
  const bn_config& c = plan.config;
  if (!c.track_running_stats) {
    note("momentum: unused (no running statistics are tracked)");
  } else if (c.mode != bn_mode::train) {
    note("momentum: unused (eval mode leaves the running statistics as they are)");
  } else {
    const double w = new_batch_weight(plan);
    const std::string given = c.momentum ? "--momentum " + number_text(*c.momentum) + " under " +
                                               std::string(c.conv->name)
                                         : "--momentum none (cumulative average)";
    note("momentum: weight of the new batch " + number_text(w) + " (" + given +
         "): running = " + number_text(1 - w) + "*old + " + number_text(w) +
         "*batch; running_var fed: " + std::string(describe(c.conv->fed_variance)) + " variance");
  }
}

}  // namespace

void note_plan(const bn_plan& plan, bool writes_running_stats) {
  if (!verbose_run) return;
  const bn_config& c = plan.config;
  note("convention " + std::string(c.conv->name) + ", " +
       (c.mode == bn_mode::train ? "train" : "eval") + " mode, eps " + number_text(c.eps) +
       (plan.normalize_with_batch_stats ? ", normalized with the batch's statistics"
                                        : ", normalized with the running statistics"));
  if (writes_running_stats) note_momentum(plan);
  note_layout(plan.input, plan.layout);
}

void note_layout(const tensor_info& input, const channel_layout& l) {
  note("layout: channel axis " + std::to_string(l.axis) + " of shape " +
       shape_to_string(input.shape) + (input.fortran_order ? " (Fortran order)" : "") + ": outer " +
       std::to_string(l.outer) + " x channels " + std::to_string(l.channels) + " x inner " +
       std::to_string(l.inner) + ", " + count_text(l.count_per_channel(), "value") +
       " per channel");
}

}  // namespace bnorm::cli
