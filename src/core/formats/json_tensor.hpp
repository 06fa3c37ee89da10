// SPDX-License-Identifier: Apache-2.0
// Tensors as JSON: nested arrays of numbers whose nesting is the shape.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "dtype.hpp"

namespace bnorm {

/// Deepest nesting a JSON tensor may have; NumPy's own limit on dimensions.
inline constexpr std::size_t json_max_rank = 32;

/// A tensor read from JSON: C-order values, float64.
struct json_tensor {
  std::vector<std::size_t> shape;
  std::vector<double> values;
};

/// Parses nested arrays of numbers.  Refuses, with line:column, anything that is not a
/// rectangular array of numbers: ragged or mixed-depth nesting, strings, null, booleans,
/// numbers that overflow double, nesting deeper than json_max_rank, trailing text.  The scan
/// is iterative, so depth cannot exhaust the stack.
json_tensor parse_json_tensor(std::string_view text);

/// Whether nested arrays can hold `shape`: an empty array says nothing of the dimensions below
/// it, so (0, 3) would read back as (0,) and (2, 0, 3) as (2, 0).  Only a shape whose first
/// zero dimension is its last survives the round trip.
bool json_holds_shape(const std::vector<std::size_t>& shape);

/// Appends `values` (C order, `shape`) as nested arrays, each number the shortest text that
/// reads back to the same value of `type`; one innermost row per line.
void append_json_tensor(std::string& out, const double* values,
                        const std::vector<std::size_t>& shape, dtype type);

}  // namespace bnorm
