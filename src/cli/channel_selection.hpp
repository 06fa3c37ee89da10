// `stats --channels`: which channels a report shows, in Python's notation over their indices.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace bnorm::cli {

/// The channels `text` selects out of `channels`, in order, exactly as Python's
/// `range(channels)[text]` does: an index ("5", "-1") or a slice ("1:", "::2", "5:1:-2"),
/// bounds clamped, an empty slice empty.  Empty text selects every channel.  Throws
/// usage_error for text that is neither, or a step of 0; data_error for an index outside the
/// channels (Python's IndexError).
std::vector<std::size_t> select_channels(const std::string& text, std::size_t channels);

}  // namespace bnorm::cli
