// SPDX-License-Identifier: Apache-2.0
// The public API's types to and from the core's: one place that knows both.
#pragma once

#include <bnorm/batch_norm.hpp>
#include <bnorm/file_batch_norm.hpp>
#include <string>
#include <vector>

#include "batch_norm.hpp"
#include "formats/codec.hpp"

namespace bnorm::lib {

/// The core's configuration for `opts`: the framework's defaults where `opts` leaves a number
/// unset.
bn_config config_of(const options& opts);

bn_state state_of(const layer_state& state);
layer_state public_state(const bn_state& state);

std::vector<channel_statistics> public_statistics(const std::vector<channel_moments>& channels);

/// The format called `name`, or null for an empty name; usage_error listing the names for
/// a name no format has.
const codec* format_named(const std::string& name);

}  // namespace bnorm::lib
