// SPDX-License-Identifier: Apache-2.0
#include "tensor_compare.hpp"

#include <bit>
#include <cmath>
#include <limits>

#include "bfloat16.hpp"
#include "half.hpp"

namespace bnorm {
namespace {

// Maps a float's bits to an integer that orders like the values (−0 and +0 both to zero's
// neighbourhood), so that the difference of two such integers counts the values between.
std::int64_t ordered(double value, dtype type) {
  std::int64_t bits, sign_bit;
  if (type.kind == scalar_kind::bfloat) {
    bits = double_to_bfloat16(value);
    sign_bit = 0x8000;
    const std::int64_t magnitude = bits & (sign_bit - 1);
    return (bits & sign_bit) ? -magnitude : magnitude;
  }
  switch (type.size) {
    case 2:
      bits = double_to_half(value);
      sign_bit = 0x8000;
      break;
    case 4:
      bits = std::bit_cast<std::uint32_t>(static_cast<float>(value));
      sign_bit = 0x80000000LL;
      break;
    default: {
      const auto raw = std::bit_cast<std::uint64_t>(value);
      const std::int64_t magnitude = static_cast<std::int64_t>(raw & 0x7fffffffffffffffULL);
      return (raw >> 63) ? -magnitude : magnitude;
    }
  }
  const std::int64_t magnitude = bits & (sign_bit - 1);
  return (bits & sign_bit) ? -magnitude : magnitude;
}

}  // namespace

std::uint64_t ulp_distance(double a, double b, dtype type) {
  if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<std::uint64_t>::max();
  const std::int64_t x = ordered(a, type), y = ordered(b, type);
  // The difference of two 64-bit ordered values can overflow int64; compute it unsigned.
  return x > y ? static_cast<std::uint64_t>(x) - static_cast<std::uint64_t>(y)
               : static_cast<std::uint64_t>(y) - static_cast<std::uint64_t>(x);
}

bool values_match(double actual, double expected, const tolerance& tol) {
  if (std::isnan(actual) || std::isnan(expected)) {
    return tol.equal_nan && std::isnan(actual) && std::isnan(expected);
  }
  if (std::isinf(actual) || std::isinf(expected)) return actual == expected;
  if (tol.ulp) return ulp_distance(actual, expected, tol.ulp_type) <= *tol.ulp;
  return std::fabs(actual - expected) <= tol.atol + tol.rtol * std::fabs(expected);
}

namespace {

// Orders errors with NaN above everything, so that the first NaN error is the maximum.
bool exceeds(double error, double maximum) {
  return !std::isnan(maximum) && (std::isnan(error) || error > maximum);
}

}  // namespace

void tensor_comparator::add(std::span<const double> actual, std::span<const double> expected) {
  for (std::size_t i = 0; i < actual.size(); ++i) {
    const double a = actual[i], e = expected[i];
    const std::size_t position = result_.compared + i;
    const bool finite = std::isfinite(a) && std::isfinite(e);
    const bool match = values_match(a, e, tol_);
    // Matching non-finite pairs (equal infinities, NaN with NaN under equal_nan) are no error.
    if (finite || !match) {
      const double abs_error = std::fabs(a - e);
      if (exceeds(abs_error, result_.max_abs_error)) {
        result_.max_abs_error = abs_error;
        result_.max_abs_position = position;
      }
      if (!(finite && e == 0) && exceeds(abs_error / std::fabs(e), result_.max_rel_error)) {
        result_.max_rel_error = abs_error / std::fabs(e);
        result_.max_rel_position = position;
      }
    }
    if (!match) {
      ++result_.mismatched;
      if (result_.first.size() < keep_first_) result_.first.push_back({position, a, e});
      if (!finite) {
        ++result_.nonfinite_mismatched;
        if (!result_.first_nonfinite) result_.first_nonfinite = mismatch{position, a, e};
      }
    }
  }
  result_.compared += actual.size();
}

std::string index_to_string(std::size_t position, const std::vector<std::size_t>& shape) {
  std::vector<std::size_t> index(shape.size());
  for (std::size_t d = shape.size(); d-- > 0;) {
    index[d] = shape[d] == 0 ? 0 : position % shape[d];
    position = shape[d] == 0 ? 0 : position / shape[d];
  }
  std::string text = "[";
  for (std::size_t d = 0; d < index.size(); ++d) {
    if (d > 0) text += ", ";
    text += std::to_string(index[d]);
  }
  return text + "]";
}

}  // namespace bnorm
