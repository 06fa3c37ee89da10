// SPDX-License-Identifier: Apache-2.0
// binary16 conversions against IEEE 754 bit patterns.  Expected patterns come from the
// standard's encoding (sign | 5-bit exponent biased by 15 | 10-bit fraction) and were
// cross-checked with NumPy 1.24: np.float64(x).astype(np.float16).view(np.uint16).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>

#include "half.hpp"

using bnorm::double_to_half;
using bnorm::half_to_double;

namespace {
constexpr double inf = std::numeric_limits<double>::infinity();
}  // namespace

TEST_CASE("half_to_double gives the exact value of a binary16 pattern") {
  SUBCASE("normal numbers") {
    CHECK(half_to_double(0x3c00) == 1.0);
    CHECK(half_to_double(0xbc00) == -1.0);
    CHECK(half_to_double(0x4000) == 2.0);
    CHECK(half_to_double(0x4500) == 5.0);  // exponent 17, fraction 0x100: 4 · 1.25
    CHECK(half_to_double(0xc500) == -5.0);
    CHECK(half_to_double(0x3c01) == 1.0 + 0x1p-10);    // one ulp above 1
    CHECK(half_to_double(0x3bff) == 1.0 - 0x1p-11);    // one ulp below 1
    CHECK(half_to_double(0x3555) == 1365.0 / 4096.0);  // the float16 nearest 1/3
    CHECK(half_to_double(0x2e66) == 0x1.998p-4);       // the float16 nearest 0.1
    CHECK(half_to_double(0x7bff) == 65504.0);          // largest finite
    CHECK(half_to_double(0xfbff) == -65504.0);
    CHECK(half_to_double(0x0400) == 0x1p-14);  // smallest normal
  }
  SUBCASE("subnormals and zeros") {
    CHECK(half_to_double(0x0001) == 0x1p-24);  // smallest subnormal
    CHECK(half_to_double(0x0002) == 0x1p-23);
    CHECK(half_to_double(0x03ff) == 1023 * 0x1p-24);  // largest subnormal
    CHECK(half_to_double(0x8001) == -0x1p-24);
    CHECK(half_to_double(0x0000) == 0.0);
    CHECK_FALSE(std::signbit(half_to_double(0x0000)));
    CHECK(half_to_double(0x8000) == 0.0);
    CHECK(std::signbit(half_to_double(0x8000)));
  }
  SUBCASE("infinities and NaNs") {
    CHECK(half_to_double(0x7c00) == inf);
    CHECK(half_to_double(0xfc00) == -inf);
    CHECK(std::isnan(half_to_double(0x7e00)));  // NumPy's NaN
    CHECK(std::isnan(half_to_double(0x7c01)));  // signalling NaN, smallest payload
    CHECK(std::isnan(half_to_double(0xfe00)));
    CHECK(std::isnan(half_to_double(0x7fff)));
  }
}

TEST_CASE("half_to_double is strictly increasing over the non-negative patterns") {
  // IEEE 754 orders non-negative values like their bit patterns read as integers.
  double previous = half_to_double(0x0000);
  for (std::uint32_t bits = 1; bits <= 0x7c00; ++bits) {
    const double value = half_to_double(static_cast<std::uint16_t>(bits));
    if (!(value > previous)) {
      FAIL_CHECK("pattern " << bits << " is not above its predecessor");
      break;
    }
    previous = value;
  }
  CHECK(previous == inf);
}

TEST_CASE("double_to_half rounds to the nearest binary16, ties to even") {
  SUBCASE("exact values") {
    CHECK(double_to_half(1.0) == 0x3c00);
    CHECK(double_to_half(-1.0) == 0xbc00);
    CHECK(double_to_half(2.0) == 0x4000);
    CHECK(double_to_half(-5.0) == 0xc500);
    CHECK(double_to_half(65504.0) == 0x7bff);
    CHECK(double_to_half(0x1p-14) == 0x0400);
    CHECK(double_to_half(0x1p-24) == 0x0001);
    CHECK(double_to_half(1023 * 0x1p-24) == 0x03ff);
    CHECK(double_to_half(0.0) == 0x0000);
    CHECK(double_to_half(-0.0) == 0x8000);
  }
  SUBCASE("inexact values") {
    CHECK(double_to_half(0.1) == 0x2e66);
    CHECK(double_to_half(1.0 / 3.0) == 0x3555);
    CHECK(double_to_half(65519.99) == 0x7bff);
  }
  SUBCASE("ties in the normal range go to the even fraction") {
    CHECK(double_to_half(1.0 + 0x1p-11) == 0x3c00);      // halfway 0x3c00 / 0x3c01
    CHECK(double_to_half(1.0 + 3 * 0x1p-11) == 0x3c02);  // halfway 0x3c01 / 0x3c02
    CHECK(double_to_half(-(1.0 + 3 * 0x1p-11)) == 0xbc02);
    CHECK(double_to_half(1.0 + 0x1p-11 + 0x1p-40) == 0x3c01);  // just above the tie
    CHECK(double_to_half(1.0 + 0x1p-11 - 0x1p-40) == 0x3c00);  // just below the tie
  }
  SUBCASE("rounding up carries into the exponent") {
    CHECK(double_to_half(2.0 - 0x1p-11) == 0x4000);  // halfway 0x3fff / 0x4000: even is 0x4000
    CHECK(double_to_half(2.0 - 0x1p-11 - 0x1p-30) == 0x3fff);
    CHECK(double_to_half(1.0 - 0x1p-12) == 0x3c00);  // halfway 0x3bff / 0x3c00: even is 0x3c00
    CHECK(double_to_half(65504.0 + 15.99) == 0x7bff);
    CHECK(double_to_half(0x1p-14 - 0x1p-26) == 0x0400);  // halfway 0x03ff / 0x0400
  }
  SUBCASE("ties in the subnormal range go to the even fraction") {
    CHECK(double_to_half(0x1p-25) == 0x0000);           // halfway 0 / 0x0001
    CHECK(double_to_half(3 * 0x1p-25) == 0x0002);       // halfway 0x0001 / 0x0002
    CHECK(double_to_half(5 * 0x1p-25) == 0x0002);       // halfway 0x0002 / 0x0003
    CHECK(double_to_half(1023.5 * 0x1p-24) == 0x0400);  // halfway 0x03ff / 0x0400
    CHECK(double_to_half(0x1p-26) == 0x0000);
    CHECK(double_to_half(-0x1p-26) == 0x8000);  // underflow keeps the sign
    CHECK(double_to_half(0x1p-25 + 0x1p-60) == 0x0001);
  }
  SUBCASE("overflow") {
    CHECK(double_to_half(65520.0) == 0x7c00);  // halfway 65504 / 2^16: even is infinity
    CHECK(double_to_half(-65520.0) == 0xfc00);
    CHECK(double_to_half(65536.0) == 0x7c00);
    CHECK(double_to_half(1e300) == 0x7c00);
    CHECK(double_to_half(inf) == 0x7c00);
    CHECK(double_to_half(-inf) == 0xfc00);
  }
  SUBCASE("NaN is NumPy's quiet NaN with the sign kept") {
    CHECK(double_to_half(std::numeric_limits<double>::quiet_NaN()) == 0x7e00);
    CHECK(double_to_half(-std::numeric_limits<double>::quiet_NaN()) == 0xfe00);
  }
}

TEST_CASE("double_to_half avoids the double rounding of going through float") {
  // Each x rounds to a float that lands exactly on a binary16 tie (or on 65520), so
  // float(x) → half differs from the correctly rounded x → half that NumPy computes.
  struct trap {
    double x;
    std::uint16_t direct;
    std::uint16_t via_float;
  };
  const trap traps[] = {
      {1.0 + 0x1p-11 + 0x1p-40, 0x3c01, 0x3c00},
      {65520.0 - 0x1p-20, 0x7bff, 0x7c00},
      {0x1p-25 + 0x1p-50, 0x0001, 0x0000},
      {-(1.0 + 0x1p-11 + 0x1p-40), 0xbc01, 0xbc00},
  };
  for (const trap& t : traps) {
    CAPTURE(t.x);
    CHECK(double_to_half(t.x) == t.direct);
    // The trap is real: the float is exactly the tie.
    CHECK(double_to_half(static_cast<double>(static_cast<float>(t.x))) == t.via_float);
  }
}

TEST_CASE("every non-NaN binary16 pattern survives half → double → half") {
  int failures = 0;
  for (std::uint32_t bits = 0; bits <= 0xffff; ++bits) {
    const auto h = static_cast<std::uint16_t>(bits);
    const bool nan = (h & 0x7c00) == 0x7c00 && (h & 0x03ff) != 0;
    if (nan) continue;
    if (double_to_half(half_to_double(h)) != h && ++failures <= 5) {
      FAIL_CHECK("pattern " << bits << " does not round-trip");
    }
  }
  CHECK(failures == 0);
}

TEST_CASE("double_to_half picks the nearer neighbour around every binary16 value") {
  // For each finite positive pattern h, values a quarter-ulp either side of h round to h;
  // with the midpoint rule checked above, this pins the rounding across all binades.
  for (std::uint32_t bits = 1; bits < 0x7bff; ++bits) {
    const auto h = static_cast<std::uint16_t>(bits);
    const double value = half_to_double(h);
    const double below = half_to_double(static_cast<std::uint16_t>(h - 1));
    const double above = half_to_double(static_cast<std::uint16_t>(h + 1));
    const double lo = value - (value - below) / 4;
    const double hi = value + (above - value) / 4;
    if (double_to_half(lo) != h || double_to_half(hi) != h) {
      FAIL_CHECK("pattern " << bits << " is not the nearest half to its neighbourhood");
      break;
    }
  }
}
