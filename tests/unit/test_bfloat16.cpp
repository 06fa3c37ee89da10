// SPDX-License-Identifier: Apache-2.0
// bfloat16 conversions.  Expected patterns follow from the encoding (float32's top 16 bits:
// sign | 8-bit exponent biased by 127 | 7-bit fraction); rounding is checked against a
// reference written here independently (nearest of the two neighbouring patterns by exact
// distance, ties to the even pattern) at every tie of the format and on either side of it.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>

#include "bfloat16.hpp"

using bnorm::bfloat16_to_double;
using bnorm::double_to_bfloat16;

namespace {

constexpr double inf = std::numeric_limits<double>::infinity();

// The pattern nearest to non-negative finite `v`: binary search over the ordered patterns,
// then the closer neighbour, the even one on a tie.
std::uint16_t reference_round(double v) {
  std::uint32_t lo = 0, hi = 0x7f80;  // decode(lo) <= v < decode(hi) once v < max + half ulp
  if (v >= bfloat16_to_double(0x7f7f) + 0x1p119) return 0x7f80;
  while (hi - lo > 1) {
    const std::uint32_t mid = (lo + hi) / 2;
    (bfloat16_to_double(static_cast<std::uint16_t>(mid)) <= v ? lo : hi) = mid;
  }
  const double below = v - bfloat16_to_double(static_cast<std::uint16_t>(lo));
  const double above = hi == 0x7f80 ? inf : bfloat16_to_double(static_cast<std::uint16_t>(hi)) - v;
  if (below < above) return static_cast<std::uint16_t>(lo);
  if (above < below) return static_cast<std::uint16_t>(hi);
  return static_cast<std::uint16_t>(lo % 2 == 0 ? lo : hi);
}

}  // namespace

TEST_CASE("bfloat16_to_double gives the exact value of a pattern") {
  CHECK(bfloat16_to_double(0x3f80) == 1.0);
  CHECK(bfloat16_to_double(0xc000) == -2.0);
  CHECK(bfloat16_to_double(0x3f81) == 1.0 + 0x1p-7);
  CHECK(bfloat16_to_double(0x4049) == 3.140625);    // pi's nearest
  CHECK(bfloat16_to_double(0x7f7f) == 0x1.fep127);  // largest finite
  CHECK(bfloat16_to_double(0x0080) == 0x1p-126);    // smallest normal
  CHECK(bfloat16_to_double(0x0001) == 0x1p-133);    // smallest subnormal
  CHECK(bfloat16_to_double(0x007f) == 127 * 0x1p-133);
  CHECK(bfloat16_to_double(0x7f80) == inf);
  CHECK(bfloat16_to_double(0xff80) == -inf);
  CHECK(std::isnan(bfloat16_to_double(0x7fc0)));
  CHECK(std::isnan(bfloat16_to_double(0x7f81)));  // signalling NaN
  CHECK(std::signbit(bfloat16_to_double(0x8000)));
}

TEST_CASE("every pattern decodes and encodes back to itself; NaN stays NaN") {
  double previous = -1;
  for (std::uint32_t bits = 0; bits <= 0xffff; ++bits) {
    const auto pattern = static_cast<std::uint16_t>(bits);
    const double value = bfloat16_to_double(pattern);
    if (std::isnan(value)) {
      const std::uint16_t back = double_to_bfloat16(value);
      if (!std::isnan(bfloat16_to_double(back)) || (back & 0x8000) != (pattern & 0x8000)) {
        FAIL_CHECK("NaN pattern " << bits << " became " << back);
      }
      continue;
    }
    if (double_to_bfloat16(value) != pattern) FAIL_CHECK("pattern " << bits << " changed");
    if (bits <= 0x7f80) {
      if (bits > 0 && !(value > previous)) FAIL_CHECK("pattern " << bits << " out of order");
      previous = value;
    }
  }
}

TEST_CASE("double_to_bfloat16 rounds to nearest, ties to even, at every tie of the format") {
  for (std::uint32_t p = 0; p < 0x7f7f; ++p) {
    const double lo = bfloat16_to_double(static_cast<std::uint16_t>(p));
    const double hi = bfloat16_to_double(static_cast<std::uint16_t>(p + 1));
    const double tie = (lo + hi) / 2;  // exact: 8 significant bits plus one
    const auto even = static_cast<std::uint16_t>(p % 2 == 0 ? p : p + 1);
    if (double_to_bfloat16(tie) != even) FAIL_CHECK("tie above " << p);
    if (double_to_bfloat16(-tie) != (even | 0x8000)) FAIL_CHECK("negative tie above " << p);
    if (double_to_bfloat16(std::nextafter(tie, inf)) != p + 1) FAIL_CHECK("just above tie " << p);
    if (double_to_bfloat16(std::nextafter(tie, 0.0)) != p) FAIL_CHECK("just below tie " << p);
  }
}

TEST_CASE("double_to_bfloat16 does not round twice (through float)") {
  // 1 + 2^-8 is the tie between 0x3f80 and 0x3f81; 2^-30 above it is closer to 0x3f81, but
  // float32 rounds the value onto the tie first, and the tie then goes to even 0x3f80.
  const double just_above_tie = 1.0 + 0x1p-8 + 0x1p-30;
  CHECK(double_to_bfloat16(just_above_tie) == 0x3f81);
  CHECK(double_to_bfloat16(static_cast<float>(just_above_tie)) == 0x3f80);
  CHECK(double_to_bfloat16(1.0 + 0x1p-8) == 0x3f80);      // tie, to even
  CHECK(double_to_bfloat16(1.0 + 3 * 0x1p-8) == 0x3f82);  // tie, to even
  CHECK(double_to_bfloat16(3.14159265358979) == 0x4049);
}

TEST_CASE("double_to_bfloat16 at the edges: overflow, subnormals, zeros, NaN") {
  CHECK(double_to_bfloat16(0x1.fep127) == 0x7f7f);
  CHECK(double_to_bfloat16(std::nextafter(0x1.ffp127, 0.0)) == 0x7f7f);
  CHECK(double_to_bfloat16(0x1.ffp127) == 0x7f80);  // the tie to 2^128 goes to even: inf
  CHECK(double_to_bfloat16(-1e300) == 0xff80);
  CHECK(double_to_bfloat16(inf) == 0x7f80);
  CHECK(double_to_bfloat16(0x1p-134) == 0x0000);  // half the smallest subnormal: tie to even 0
  CHECK(double_to_bfloat16(std::nextafter(0x1p-134, 1.0)) == 0x0001);
  CHECK(double_to_bfloat16(3 * 0x1p-134) == 0x0002);    // tie between 1 and 2: even
  CHECK(double_to_bfloat16(255 * 0x1p-134) == 0x0080);  // rounds up into the normals
  CHECK(double_to_bfloat16(0.0) == 0x0000);
  CHECK(double_to_bfloat16(-0.0) == 0x8000);
  CHECK(double_to_bfloat16(1e-300) == 0x0000);
  CHECK(double_to_bfloat16(std::nan("")) == 0x7fc0);
  CHECK(double_to_bfloat16(-std::nan("")) == 0xffc0);
}

TEST_CASE("double_to_bfloat16 agrees with the reference on random doubles of every scale") {
  std::mt19937_64 random(12345);
  std::uniform_real_distribution<double> mantissa(1.0, 2.0);
  std::uniform_int_distribution<int> exponent(-140, 130);
  for (int i = 0; i < 200000; ++i) {
    const double v = std::ldexp(mantissa(random), exponent(random));
    if (double_to_bfloat16(v) != reference_round(v)) FAIL_CHECK("value " << v);
  }
}
