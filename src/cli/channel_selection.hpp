// SPDX-License-Identifier: Apache-2.0
// `stats --channels`: which channels a report shows, in Python's notation over their indices.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace bnorm::cli {

/// `--channels` read, before the number of channels is known: an index ("5", "-1") or a
/// slice ("1:", "::2", "5:1:-2") in Python's notation; empty text is every channel.
struct channel_spec {
  std::string text;  ///< as given, for messages
  bool is_index = false;
  long long index = 0;
  std::optional<long long> start, stop;
  long long step = 1;
};

/// Reads `text`.  Throws usage_error for text that is neither an index nor a slice, or a step
/// of 0.
channel_spec parse_channels(const std::string& text);

/// The channels `spec` selects out of `channels`, in order, exactly as Python's
/// `range(channels)[spec]` does: bounds clamped, an empty slice empty.  Throws data_error for
/// an index outside the channels (Python's IndexError).
std::vector<std::size_t> select_channels(const channel_spec& spec, std::size_t channels);

}  // namespace bnorm::cli
