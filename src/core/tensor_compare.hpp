// SPDX-License-Identifier: Apache-2.0
// Element-wise comparison of two tensors with NumPy's isclose semantics or a distance in
// units in the last place, accumulated chunk by chunk so that files of any size stream.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "dtype.hpp"

namespace bnorm {

/// How close is close enough.
struct tolerance {
  double rtol = 1e-5;  ///< numpy.isclose's default
  double atol = 1e-8;  ///< numpy.isclose's default
  bool equal_nan = false;
  /// When set, values match when at most this many representable values of `ulp_type` lie
  /// between them, instead of the rtol/atol test.
  std::optional<std::uint64_t> ulp;
  dtype ulp_type = dtype::float64();
};

/// One element that differs.
struct mismatch {
  std::size_t position = 0;  ///< in C order
  double actual = 0;
  double expected = 0;
};

/// The outcome of a comparison.
struct comparison {
  std::size_t compared = 0;
  std::size_t mismatched = 0;
  /// |a − e| over the finite pairs and the mismatched ones: a mismatch with NaN makes it NaN,
  /// one with an infinity (and no NaN) infinite, as torch.testing.assert_close reports them.
  /// The position is the first where the maximum is reached.
  double max_abs_error = 0;
  std::size_t max_abs_position = 0;
  /// |a − e| / |e| over the same pairs, those of finite e = 0 left out.
  double max_rel_error = 0;
  std::size_t max_rel_position = 0;
  /// Mismatches where either value is NaN or infinite.
  std::size_t nonfinite_mismatched = 0;
  std::vector<mismatch> first;              ///< the first few mismatches, in order
  std::optional<mismatch> first_nonfinite;  ///< the first mismatch with NaN or an infinity
};

/// True when `actual` matches `expected`: |a − e| ≤ atol + rtol·|e| (numpy.isclose, which is
/// not symmetric), equal infinities, and NaN with NaN only under equal_nan.
bool values_match(double actual, double expected, const tolerance& tol);

/// Accumulates a comparison over chunks given in C order.
class tensor_comparator {
 public:
  explicit tensor_comparator(tolerance tol, std::size_t keep_first = 10)
      : tol_(tol), keep_first_(keep_first) {}

  /// Compares the next actual.size() elements (both spans have that size).
  void add(std::span<const double> actual, std::span<const double> expected);

  const comparison& result() const { return result_; }

 private:
  tolerance tol_;
  std::size_t keep_first_;
  comparison result_;
};

/// Distance between two values in units in the last place of floating `type` (float16/32/64):
/// the number of representable values from one to the other.  NaN gives the maximum.
std::uint64_t ulp_distance(double a, double b, dtype type);

/// "[n, c, h, w]" for a C-order position in `shape`.
std::string index_to_string(std::size_t position, const std::vector<std::size_t>& shape);

}  // namespace bnorm
