// SPDX-License-Identifier: Apache-2.0
// Double-double arithmetic against exact integer arithmetic (__int128): operands are whole
// numbers (times powers of two), so the exact sums and products are known without rounding.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <random>

#include "double_double.hpp"

using bnorm::compensated_sum;
using bnorm::double_double;
using bnorm::fast_two_sum;
using bnorm::inverse_sqrt;
using bnorm::two_prod;
using bnorm::two_sum;

namespace {

__extension__ typedef __int128 int128;

// A whole number of up to 53 bits, shifted left by up to `shift` places, either sign.
double random_whole(std::mt19937_64& rng, int shift) {
  const auto mantissa = static_cast<double>(rng() >> 11);
  const double value = std::ldexp(mantissa, static_cast<int>(rng() % (shift + 1)));
  return rng() % 2 ? -value : value;
}

int128 exact(double whole) {
  return static_cast<int128>(whole);
}

}  // namespace

TEST_CASE("two_sum and fast_two_sum give the rounded sum and its exact error") {
  std::mt19937_64 rng(1);
  for (int i = 0; i < 100000; ++i) {
    const double a = random_whole(rng, 60), b = random_whole(rng, 60);
    const double_double s = two_sum(a, b);
    CHECK(s.hi == a + b);
    CHECK(exact(s.hi) + exact(s.lo) == exact(a) + exact(b));
    const bool a_larger = std::fabs(a) >= std::fabs(b);
    const double_double f = fast_two_sum(a_larger ? a : b, a_larger ? b : a);
    CHECK(exact(f.hi) + exact(f.lo) == exact(a) + exact(b));
  }
}

TEST_CASE("two_prod gives the rounded product and its exact error") {
  std::mt19937_64 rng(2);
  for (int i = 0; i < 100000; ++i) {
    const auto a = static_cast<double>(rng() >> 11), b = static_cast<double>(rng() >> 11);
    const double_double p = two_prod(a, -b);
    CHECK(p.hi == a * -b);
    CHECK(exact(p.hi) + exact(p.lo) == -(exact(a) * exact(b)));
  }
}

TEST_CASE("double-double sums and products of whole numbers are exact when they fit") {
  // 106 bits hold any sum or product below 2^105 of whole numbers.
  std::mt19937_64 rng(3);
  for (int i = 0; i < 20000; ++i) {
    const double a = random_whole(rng, 20), b = random_whole(rng, 20);
    const double c = random_whole(rng, 20), d = random_whole(rng, 20);
    const double_double x = two_sum(a, b), y = two_sum(c, d);
    const double_double sum = x + y;
    CHECK(exact(sum.hi) + exact(sum.lo) == exact(a) + exact(b) + exact(c) + exact(d));
    const double_double plus = x + c;
    CHECK(exact(plus.hi) + exact(plus.lo) == exact(a) + exact(b) + exact(c));
    const auto small = static_cast<double>(rng() >> 40);  // 24 bits: x·small fits
    const double_double product = two_sum(a, static_cast<double>(rng() >> 43)) * small;
    CHECK(std::fabs(product.lo) <= std::ldexp(std::fabs(product.hi), -53));
    // 73 bits times 24: 97 bits, which hi + lo hold exactly.
    const double_double z = fast_two_sum(std::ldexp(static_cast<double>(rng() >> 44), 53),
                                         static_cast<double>(rng() >> 12));
    const double_double q = z * small;
    CHECK(exact(q.hi) + exact(q.lo) == (exact(z.hi) + exact(z.lo)) * exact(small));
  }
}

TEST_CASE("division and the inverse square root are good to a few units of 2^-106") {
  const double unit = std::ldexp(1.0, -106);
  SUBCASE("1/3: three times it is 1 within the bound") {
    const double_double third = double_double{1, 0} / 3.0;
    const double_double back = third * 3.0 - double_double{1, 0};
    CHECK(std::fabs(back.hi) <= 4 * unit);
    const double_double also = double_double{1, 0} / double_double{3, 0};
    CHECK(also.hi == third.hi);
    CHECK(std::fabs(also.lo - third.lo) <= 16 * unit * third.hi);
  }
  SUBCASE("1/sqrt(x)·1/sqrt(x)·x is 1") {
    std::mt19937_64 rng(4);
    for (int i = 0; i < 10000; ++i) {
      const double_double x{std::ldexp(static_cast<double>(rng() >> 11) + 1, -26 + int(rng() % 80)),
                            0};
      const double_double r = inverse_sqrt(x);
      const double_double one = r * r * x - double_double{1, 0};
      CHECK(std::fabs(one.hi) <= 16 * unit);
      CHECK(r.hi == doctest::Approx(1 / std::sqrt(x.hi)));
    }
  }
  SUBCASE("0, NaN and infinity give the double estimate") {
    CHECK(std::isinf(inverse_sqrt({0, 0}).hi));
    CHECK(inverse_sqrt({INFINITY, 0}).hi == 0);
    CHECK(std::isnan(inverse_sqrt({NAN, 0}).hi));
    CHECK(std::isnan(inverse_sqrt({-1, 0}).hi));
  }
}

TEST_CASE("compensated_sum keeps what a double sum drops") {
  SUBCASE("ten times 0.1 is 1 + 2^-54") {
    // 0.1 is 3602879701896397·2^-55, so ten of them are 36028797018963970·2^-55 = 1 + 2^-54.
    compensated_sum s;
    for (int i = 0; i < 10; ++i) s.add(0.1, 0);
    CHECK(s.value().hi == 1.0);
    CHECK(s.value().lo == std::ldexp(1.0, -54));
  }
  SUBCASE("terms that cancel") {
    compensated_sum s;
    for (double v : {1e16, 1.0, -1e16, 0.5, 1e-20}) s.add(v, 0);
    CHECK(s.value().hi == 1.5);  // a double sum gives 0.5
    CHECK(std::fabs(s.value().lo) <= std::ldexp(1.5, -53));
  }
  SUBCASE("whole numbers, exactly") {
    // 4096 terms below 2^61: the bound (n·2^-53)²·Σ|term| is below 1, and every partial
    // result is whole, so the sum is exact.
    std::mt19937_64 rng(5);
    compensated_sum s;
    int128 total = 0;
    for (int i = 0; i < 4096; ++i) {
      const double term = random_whole(rng, 8);
      s.add(term, 0);
      total += exact(term);
    }
    const double_double v = s.value();
    CHECK(exact(v.hi) + exact(v.lo) == total);
  }
}
