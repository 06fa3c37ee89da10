// SPDX-License-Identifier: Apache-2.0
// Rounding a double to a 16-bit binary floating-point format (IEEE binary16, bfloat16): one
// algorithm for both, the formats differing only in how their 15 bits split between exponent
// and significand.
#pragma once

#include <cmath>
#include <cstdint>

namespace bnorm {

namespace detail {
constexpr double power_of_two(int exponent) {
  double p = 1;
  for (; exponent > 0; --exponent) p *= 2;
  for (; exponent < 0; ++exponent) p /= 2;
  return p;  // exact: every power of two here is a normal double
}
}  // namespace detail

/// The bits of the value nearest to `value` (ties to even) in the 16-bit format with a sign
/// bit, `exponent_bits` exponent bits and the rest significand: rounded once, straight from
/// double (going through float would round twice).  NaN stays a quiet NaN with its sign;
/// everything from halfway past the largest finite value up becomes infinity.
template <int exponent_bits>
std::uint16_t round_to_16_bit_float(double value) {
  constexpr int significand_bits = 15 - exponent_bits;
  constexpr int bias = (1 << (exponent_bits - 1)) - 1;
  constexpr std::uint32_t infinity = ((1u << exponent_bits) - 1) << significand_bits;
  constexpr std::uint32_t quiet_nan = infinity | (1u << (significand_bits - 1));
  // The largest finite value is (2 - 2^-s) * 2^bias; halfway from it to 2^(bias+1) is a tie
  // whose even neighbour is infinity.
  constexpr double overflow =
      (2 - detail::power_of_two(-significand_bits - 1)) * detail::power_of_two(bias);
  constexpr double smallest_normal = detail::power_of_two(1 - bias);
  constexpr double subnormal_scale = detail::power_of_two(bias - 1 + significand_bits);

  const std::uint16_t sign = std::signbit(value) ? 0x8000u : 0u;
  if (std::isnan(value)) return static_cast<std::uint16_t>(sign | quiet_nan);
  const double magnitude = std::fabs(value);
  if (magnitude >= overflow) return static_cast<std::uint16_t>(sign | infinity);
  if (magnitude < smallest_normal) {
    // Subnormal range: m * 2^(1 - bias - s) with m an integer below 2^s.  Scaling by a power
    // of two is exact and nearbyint rounds half to even in the default rounding mode; a result
    // of 2^s is the smallest normal, whose bit pattern is exactly that.
    return static_cast<std::uint16_t>(
        sign | static_cast<std::uint16_t>(std::nearbyint(magnitude * subnormal_scale)));
  }
  int exponent;
  std::frexp(magnitude, &exponent);  // magnitude in [2^(exponent-1), 2^exponent)
  --exponent;
  const auto significand = static_cast<std::uint32_t>(
      std::nearbyint(std::ldexp(magnitude, significand_bits - exponent)));
  // significand is in [2^s, 2^(s+1)]; 2^(s+1) carries into the exponent field, which is
  // correct (up to infinity).
  const std::uint32_t bits = (static_cast<std::uint32_t>(exponent + bias) << significand_bits) +
                             (significand - (1u << significand_bits));
  return static_cast<std::uint16_t>(sign | bits);
}

}  // namespace bnorm
