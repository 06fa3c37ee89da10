#include "bfloat16.hpp"

#include <bit>
#include <cmath>

namespace bnorm {

double bfloat16_to_double(std::uint16_t bits) {
  return static_cast<double>(std::bit_cast<float>(static_cast<std::uint32_t>(bits) << 16));
}

std::uint16_t double_to_bfloat16(double value) {
  const std::uint16_t sign = std::signbit(value) ? 0x8000u : 0u;
  if (std::isnan(value)) return sign | 0x7fc0u;
  const double magnitude = std::fabs(value);
  // The largest bfloat16 is (2 - 2^-7) * 2^127; halfway from it to 2^128 is a tie whose even
  // neighbour is infinity, so everything from the halfway point up overflows.
  if (magnitude >= 0x1.ffp127) return sign | 0x7f80u;
  if (magnitude < 0x1p-126) {
    // Subnormal range: m * 2^-133 with m an integer below 128.  Scaling by a power of two is
    // exact and nearbyint rounds half to even; 128 is the smallest normal, bits 0x0080.
    return sign | static_cast<std::uint16_t>(std::nearbyint(magnitude * 0x1p133));
  }
  int exponent;
  std::frexp(magnitude, &exponent);  // magnitude in [2^(exponent-1), 2^exponent)
  --exponent;
  const auto significand =
      static_cast<std::uint32_t>(std::nearbyint(std::ldexp(magnitude, 7 - exponent)));
  // significand is in [128, 256]; 256 carries into the exponent field, which is correct.
  const std::uint32_t bits =
      (static_cast<std::uint32_t>(exponent + 127) << 7) + (significand - 128);
  return static_cast<std::uint16_t>(sign | bits);
}

}  // namespace bnorm
