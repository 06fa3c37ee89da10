// SPDX-License-Identifier: Apache-2.0
// Every tensor layout as (outer, channels, inner): the one rule that lets every pass stream.
#pragma once

#include <cstddef>
#include <vector>

#include "tensor_info.hpp"

namespace bnorm {

/// How the channels of a tensor lie in its file.  In file order, values come in runs of
/// `inner` consecutive values of one channel, channels cycling 0..channels-1, `outer` times.
/// A C-order array with channel axis k has inner = d(k+1)·…·d(r−1); a Fortran-order array is
/// the C-order array with the shape reversed, so its inner is d0·…·d(k−1).
struct channel_layout {
  std::size_t outer = 1;
  std::size_t channels = 1;
  std::size_t inner = 1;
  std::size_t axis = 0;  // the channel axis, normalized to [0, rank)

  /// Values per channel: outer · inner, the n of every formula.
  std::size_t count_per_channel() const { return outer * inner; }
  std::size_t element_count() const { return outer * channels * inner; }
  /// The channel of the value at file position `position`.
  std::size_t channel_at(std::size_t position) const { return (position / inner) % channels; }
};

/// Resolves `axis` (negative counts from the end) against `info`'s rank.  Throws data_error
/// when the axis is outside the rank.
channel_layout make_layout(const tensor_info& info, long long axis);

}  // namespace bnorm
