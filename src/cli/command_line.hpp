// SPDX-License-Identifier: Apache-2.0
// bnorm's whole command line as CLI11 objects: every subcommand with its options, built once
// for main() to parse and for the documentation generator to describe (man page, completions),
// so that --help, the man page and the completions come from the same definitions.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "apply_command.hpp"
#include "backward_command.hpp"
#include "compare_command.hpp"
#include "convert_command.hpp"
#include "fold_command.hpp"
#include "layers_command.hpp"
#include "merge_command.hpp"
#include "run_feedback.hpp"
#include "stats_command.hpp"

namespace bnorm::cli {

/// The subcommands that do work, in --help's order.
inline constexpr std::string_view subcommand_names[] = {"apply",   "stats", "layers",   "compare",
                                                        "convert", "merge", "backward", "fold"};

/// Writes `text` to standard output.  Throws io_error when it cannot be written (a full
/// device, a closed pipe), so that help and reports fail as loudly as any output.
void write_standard_output(const std::string& text);

/// The parser and the options it fills.  Not copyable: the parser holds pointers into it.
class command_line {
 public:
  /// The whole command line; or, when `only` names a subcommand, just that one (main()
  /// passes the first argument: building seven subcommands' parsers to run one was a tenth
  /// of a small file's run).  Anything else, "--help" or a typo, gets every subcommand, so
  /// that help and "did you mean" see them all.
  explicit command_line(std::string_view only = {});
  command_line(const command_line&) = delete;
  command_line& operator=(const command_line&) = delete;

  CLI::App app;
  /// The subcommands that do work, in --help's order, and how to run each.
  std::vector<std::pair<CLI::App*, std::function<int()>>> subcommands;
  /// `bnorm help [SUBCOMMAND]`, which prints help and does no work.
  CLI::App* help = nullptr;
  std::string help_topic;
  feedback_options feedback;

  /// True when `word` is a subcommand, `help` included.
  static bool names_subcommand(std::string_view word);
  /// "apply, stats, ...", the subcommands that do work, for messages.
  static std::string subcommand_list();

  /// Runs `bnorm help [SUBCOMMAND]`: the help of the topic on standard output.  Throws
  /// usage_error for an unknown topic.
  int run_help() const;

 private:
  apply_options apply_;
  stats_options stats_;
  layers_options layers_;
  compare_options compare_;
  convert_options convert_;
  merge_options merge_;
  backward_options backward_;
  fold_options fold_;
};

}  // namespace bnorm::cli
