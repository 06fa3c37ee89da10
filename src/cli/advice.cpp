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
    case bnorm::fault::tensor_not_chosen:  // after "s.npz holds 2 tensors ('a', 'b')"
      return ": pick one with --tensor NAME";
    case bnorm::fault::tensor_named_in_single:  // in place of "a name" (picks a tensor of ...)
      return "--tensor";
    case bnorm::fault::format_unknown:
      // compare names no format, stats only its INPUT's.
      if (subcommand == "compare") return std::nullopt;
      if (subcommand == "stats") return "; name it with --input-format";
      return "; name it with --input-format or --output-format";
  }
  return std::nullopt;
}

}  // namespace

std::string advised_message(const bnorm::error& e, std::string_view subcommand) {
  const std::optional<std::string_view> advice = advice_for(e.fault(), subcommand);
  return advice ? e.reworded(*advice) : std::string(e.what());
}

}  // namespace bnorm::cli
