// SPDX-License-Identifier: Apache-2.0
// The state file (--state) and the statistics file (--stats-out), which is a valid state file
// for the next batch.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "batch_norm.hpp"

namespace bnorm {

/// A state file's contents: the state, and the convention it was written under, if it says.
struct state_file {
  bn_state state;
  std::string convention;
};

/// Reads a state object: `weight`, `bias`, `running_mean`, `running_var` (arrays of numbers)
/// and `num_batches_tracked` (a non-negative integer), each optional.  The other keys a
/// statistics file holds are accepted and ignored; any other key is refused, so that a typo
/// cannot silently fall back to a default.  Throws data_error ("line L, column C: ..." or
/// "key 'k': ...").
state_file parse_state(std::string_view text);

/// The statistics document of one step, with every number's meaning named: the batch's
/// biased `var` and unbiased `var_unbiased`, the momentum in the convention's own meaning,
/// and which variance fed running_var.
nlohmann::ordered_json stats_document(const bn_plan& plan, const bn_result& result);

}  // namespace bnorm
