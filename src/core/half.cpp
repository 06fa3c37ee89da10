// SPDX-License-Identifier: Apache-2.0
#include "half.hpp"

#include <bit>
#include <cmath>

#include "narrow_float.hpp"

namespace bnorm {

double half_to_double(std::uint16_t bits) {
  const bool negative = (bits & 0x8000u) != 0;
  const int exponent = (bits >> 10) & 0x1f;
  const int mantissa = bits & 0x3ff;
  double magnitude;
  if (exponent == 0) {
    magnitude = std::ldexp(static_cast<double>(mantissa), -24);  // zero or subnormal
  } else if (exponent == 0x1f) {
    magnitude = mantissa == 0 ? HUGE_VAL : std::nan("");
  } else {
    magnitude = std::ldexp(static_cast<double>(mantissa | 0x400), exponent - 25);
  }
  return negative ? -magnitude : magnitude;
}

std::uint16_t double_to_half(double value) {
  return round_to_16_bit_float<5>(value);
}

}  // namespace bnorm
