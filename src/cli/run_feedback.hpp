// SPDX-License-Identifier: Apache-2.0
// What a run tells the person watching it on standard error, beyond errors and warnings: a
// progress bar on a terminal (unless --quiet) and, with --verbose, how the work was planned.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "batch_norm.hpp"
#include "cli11_forward.hpp"

namespace bnorm::cli {

/// --quiet and --verbose, which every subcommand accepts.
struct feedback_options {
  bool quiet = false;
  bool verbose = false;
};

/// Adds -q,--quiet and -v,--verbose to `cmd`.
/// `reported` says what --verbose reports for this subcommand, e.g. "the layout and passes".
void add_feedback_options(CLI::App* cmd, feedback_options& options, const std::string& reported);

/// What a run shows on standard error besides errors and warnings, decided once.
struct feedback_run {
  bool verbose = false;
  bool progress_bar = false;
};

/// The progress bar's default depends on the terminal: one when standard error is a terminal,
/// unless --quiet says otherwise.
feedback_run resolve(const feedback_options& options);

class progress_bar;

/// The feedback of one run: installs the progress bar when asked, and removes it at the end
/// of the run.
class run_feedback {
 public:
  explicit run_feedback(const feedback_run& run);
  explicit run_feedback(const feedback_options& options) : run_feedback(resolve(options)) {}
  ~run_feedback();
  run_feedback(const run_feedback&) = delete;
  run_feedback& operator=(const run_feedback&) = delete;

 private:
  std::unique_ptr<progress_bar> bar_;
};

/// Prints "bnorm: <line>" on standard error when --verbose was given.
void note(const std::string& line);

/// Names the passes the run is about to make, after those announced before: --verbose lists
/// them and the progress bar labels each with its name.
void announce_passes(const std::vector<std::string>& names);

/// Names the next pass of the progress bar, if one is drawn, without a --verbose note (a run
/// over many files: "1000 files").
void label_next_pass(const std::string& label);

/// The passes run_batch_norm makes for `plan`: statistics (unless they are known), normalize.
std::vector<std::string> batch_norm_passes(const bn_plan& plan);

/// With --verbose: the layout of the channels of `input`.
void note_layout(const tensor_info& input, const channel_layout& layout);

/// With --verbose: the convention, eps, the effective momentum as the weight of the new batch
/// (only for a subcommand that writes running statistics: the others have no --momentum),
/// and the layout of the channels of `plan`'s input.
void note_plan(const bn_plan& plan, bool writes_running_stats = true);

}  // namespace bnorm::cli
