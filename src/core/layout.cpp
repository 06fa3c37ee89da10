// SPDX-License-Identifier: Apache-2.0
#include "layout.hpp"

#include "error.hpp"

namespace bnorm {

channel_layout make_layout(const tensor_info& info, long long axis) {
  const auto rank = static_cast<long long>(info.shape.size());
  if (axis < -rank || axis >= rank) {
    throw data_error("axis " + std::to_string(axis) + " is outside a tensor of rank " +
                     std::to_string(rank) + " (shape " + shape_to_string(info.shape) + ")");
  }
  channel_layout layout;
  layout.axis = static_cast<std::size_t>(axis < 0 ? axis + rank : axis);
  layout.channels = info.shape[layout.axis];
  for (std::size_t d = 0; d < info.shape.size(); ++d) {
    const bool before = d < layout.axis;
    if (d == layout.axis) continue;
    // In C order the axes before the channel axis vary slowest (outer); Fortran order reverses.
    (before != info.fortran_order ? layout.outer : layout.inner) *= info.shape[d];
  }
  return layout;
}

}  // namespace bnorm
