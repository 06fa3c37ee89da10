// SPDX-License-Identifier: Apache-2.0
// Fortran (column-major) order seen in C (row-major) order: the one index walk that every
// reordering of a Fortran-order tensor shares.
#pragma once

#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace bnorm {

/// Calls visit(fortran_offset) once per element, in C order: for the element at C position
/// p, the position the same index has in Fortran order.  Fortran order is C order of the
/// reversed shape, so the walk keeps the Fortran offset of the current C index as it counts.
template <typename Visit>
void for_each_fortran_offset(const std::vector<std::size_t>& shape, Visit&& visit) {
  const std::size_t rank = shape.size();
  std::vector<std::size_t> stride(rank);
  std::size_t count = 1;
  for (std::size_t d = 0; d < rank; ++d) {
    stride[d] = count;
    count *= shape[d];
  }
  std::vector<std::size_t> index(rank, 0);
  std::size_t offset = 0;
  for (std::size_t p = 0; p < count; ++p) {
    visit(offset);
    for (std::size_t d = rank; d-- > 0;) {
      offset += stride[d];
      if (++index[d] < shape[d]) break;
      offset -= stride[d] * shape[d];
      index[d] = 0;
    }
  }
}

/// The elements of a Fortran-order tensor of `shape`, `item` bytes each, in C order.
inline std::string fortran_to_c_order(std::string_view fortran, std::size_t item,
                                      const std::vector<std::size_t>& shape) {
  std::string c_order;
  c_order.reserve(fortran.size());
  for_each_fortran_offset(
      shape, [&](std::size_t offset) { c_order.append(fortran.substr(offset * item, item)); });
  return c_order;
}

/// The values of a Fortran-order tensor of `shape`, in C order.
inline std::vector<double> fortran_to_c_order(const std::vector<double>& fortran,
                                              const std::vector<std::size_t>& shape) {
  const std::string bytes = fortran_to_c_order(
      std::string_view(reinterpret_cast<const char*>(fortran.data()), fortran.size() * 8), 8,
      shape);
  std::vector<double> c_order(fortran.size());
  std::memcpy(c_order.data(), bytes.data(), bytes.size());
  return c_order;
}

}  // namespace bnorm
