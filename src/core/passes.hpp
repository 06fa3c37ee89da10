// SPDX-License-Identifier: Apache-2.0
// One pass over a tensor's values, on every core: the machinery that `apply` and `stats`
// share.  Positions are split into groups fixed by the element count alone, so anything
// accumulated per group and merged in group order is the same for any number of threads.
#pragma once

#include <cstddef>
#include <functional>
#include <vector>

#include "channel_stats.hpp"
#include "layout.hpp"
#include "tensor_stream.hpp"

namespace bnorm {

/// How many groups a pass over `elements` values uses (1 below about a million values).
std::size_t pass_group_count(std::size_t elements);

/// Called with a cache-sized chunk of decoded values at file positions [position,
/// position + count) of group `group`; it may change the values in place.
using chunk_visitor =
    std::function<void(std::size_t group, std::size_t position, double* values, std::size_t count)>;

/// Reads every value of `source` once, chunk by chunk, each group in order.  Groups run on up
/// to hardware_concurrency threads when `parallel`, else one after the other in order.  The
/// first exception a visitor throws stops the pass and is rethrown.
void stream_groups(const tensor_source& source, bool parallel, const chunk_visitor& visit);

/// Adds a chunk of values at file position `position` to `acc`, channel by channel.
void accumulate(const channel_layout& layout, std::size_t position, const double* values,
                std::size_t count, moments_accumulator& acc);

/// Whether moments of this tensor are carried in double-double (float64 data, whose output
/// keeps every digit that a large offset would cost double arithmetic).
bool wants_extended_moments(const tensor_info& info);

/// Per-group accumulators, merged in group order.
class grouped_moments {
 public:
  grouped_moments(std::size_t groups, std::size_t channels, bool extended = false);
  moments_accumulator& group(std::size_t g) { return groups_[g]; }
  std::vector<channel_moments> merged() const;

 private:
  std::vector<moments_accumulator> groups_;
};

/// The per-channel moments of a whole tensor, in one pass on every core.
std::vector<channel_moments> channel_moments_of(const tensor_source& source,
                                                const channel_layout& layout);

}  // namespace bnorm
