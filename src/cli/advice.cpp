// SPDX-License-Identifier: Apache-2.0
#include "advice.hpp"

#include <optional>

namespace bnorm::cli {

namespace {

// The words that take the place of the core's fault words for `f`, reading on from the same
// facts (": give them with --state" after "eval mode normalizes with running_mean and
// running_var"); none keeps the core's.  A new fault is decided here (-Wswitch says so).
std::optional<std::string_view> advice_for(bnorm::fault f, std::string_view subcommand) {
  switch (f) {
    case bnorm::fault::none:
      return std::nullopt;
    case bnorm::fault::running_statistics_missing:
      // After "folding uses eval mode"; stats has no --no-track-running-stats to offer.
      if (subcommand == "fold") return ": give running_mean and running_var with --state";
      if (subcommand == "stats") return ": give them with --state";
      return ": give them with --state (or use --no-track-running-stats for batch statistics)";
    case bnorm::fault::whole_batch_in_eval:
      return "--batch-stats gives batch statistics";
    case bnorm::fault::not_partial_statistics:
      return " (write them with bnorm stats --partial)";
    case bnorm::fault::tensor_not_chosen:  // in place of ": pick one"
      return ": pick one with --tensor NAME";
    case bnorm::fault::input_format_unknown:  // after "... from its first bytes"
      // compare has no format flag.  Inputs the flag does not cover are raised without the
      // fault (tensor_files).
      if (subcommand == "compare") return std::nullopt;
      return "; name it with --input-format";
    case bnorm::fault::output_format_unknown:  // after "... from its name (...)"
      return "; name it with --output-format";
    case bnorm::fault::empty_field:  // after "... where a number is expected"
      if (subcommand == "fold" || subcommand == "layers") return std::nullopt;
      return " (--missing nan reads it as NaN)";
  }
  return std::nullopt;
}

}  // namespace

std::string advised_message(const bnorm::error& e, std::string_view subcommand) {
  const std::optional<std::string_view> advice = advice_for(e.fault(), subcommand);
  return advice ? e.reworded(*advice) : std::string(e.what());
}

}  // namespace bnorm::cli
