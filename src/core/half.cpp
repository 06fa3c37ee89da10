#include "half.hpp"

#include <bit>
#include <cmath>

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
  const std::uint16_t sign = std::signbit(value) ? 0x8000u : 0u;
  const double magnitude = std::fabs(value);
  if (std::isnan(value)) return sign | 0x7e00u;
  // 65520 lies halfway between the largest half (65504) and 2^16; ties-to-even sends it to inf.
  if (magnitude >= 65520.0) return sign | 0x7c00u;
  if (magnitude < 0x1p-14) {
    // Subnormal range: the value is m * 2^-24 with m an integer below 1024.  Scaling by a power
    // of two is exact, and nearbyint rounds half to even in the default rounding mode.  A result
    // of 1024 is the smallest normal, whose bit pattern is exactly 0x400.
    return sign | static_cast<std::uint16_t>(std::nearbyint(magnitude * 0x1p24));
  }
  int exponent;
  std::frexp(magnitude, &exponent);  // magnitude in [2^(exponent-1), 2^exponent)
  --exponent;
  const auto significand =
      static_cast<std::uint32_t>(std::nearbyint(std::ldexp(magnitude, 10 - exponent)));
  // significand is in [1024, 2048]; 2048 carries into the exponent field, which is correct.
  const std::uint32_t bits =
      (static_cast<std::uint32_t>(exponent + 15) << 10) + (significand - 1024);
  return static_cast<std::uint16_t>(sign | bits);
}

}  // namespace bnorm
