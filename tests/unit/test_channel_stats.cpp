// SPDX-License-Identifier: Apache-2.0
// Per-channel moments against a long-double two-pass reference, their merging, and the
// handling of NaN and infinities (as NumPy's mean and var: NaN or ±Inf enter the moments).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "channel_stats.hpp"

using bnorm::channel_moments;
using bnorm::moments_accumulator;

namespace {

constexpr double qnan = std::numeric_limits<double>::quiet_NaN();
constexpr double inf = std::numeric_limits<double>::infinity();

struct reference {
  long double mean;
  long double m2;
};

// The textbook two-pass formula in long double: no shift, no merging.
reference two_pass(const std::vector<double>& x) {
  long double sum = 0;
  for (double v : x) sum += v;
  const long double mean = sum / static_cast<long double>(x.size());
  long double m2 = 0;
  for (double v : x) m2 += (v - mean) * (v - mean);
  return {mean, m2};
}

channel_moments moments_of(const std::vector<double>& x) {
  moments_accumulator acc(1);
  acc.add(0, x.data(), x.size());
  return acc.moments()[0];
}

double relative_error(double value, long double expected) {
  return static_cast<double>(std::fabs((value - expected) / expected));
}

}  // namespace

TEST_CASE("moments of a small channel, worked by hand") {
  // 1, 2, 3, 4: mean 2.5, squared deviations 2.25 + 0.25 + 0.25 + 2.25 = 5
  const channel_moments m = moments_of({1, 2, 3, 4});
  CHECK(m.count == 4);
  CHECK(m.mean == 2.5);
  CHECK(m.m2 == 5);
  CHECK(m.var() == 1.25);
  CHECK(m.var_unbiased() == doctest::Approx(5.0 / 3.0).epsilon(1e-15));
  CHECK(m.min == 1);
  CHECK(m.max == 4);
  CHECK(m.nonfinite == 0);
}

TEST_CASE("one value: var 0, var_unbiased NaN; no values: everything NaN") {
  const channel_moments one = moments_of({-3.5});
  CHECK(one.count == 1);
  CHECK(one.mean == -3.5);
  CHECK(one.var() == 0);
  CHECK(std::isnan(one.var_unbiased()));
  CHECK(one.min == -3.5);
  CHECK(one.max == -3.5);

  moments_accumulator acc(2);
  const double v = 1;
  acc.add(1, &v, 1);
  const channel_moments none = acc.moments()[0];
  CHECK(none.count == 0);
  CHECK(std::isnan(none.mean));
  CHECK(std::isnan(none.var()));
  CHECK(std::isnan(none.var_unbiased()));
  CHECK(std::isnan(none.min));
  CHECK(std::isnan(none.max));
}

TEST_CASE("moments match a long double two-pass computation on random data") {
  std::mt19937_64 rng(12345);
  const std::size_t channels = 5;
  moments_accumulator acc(channels);
  std::vector<std::vector<double>> data(channels);
  // Channels with different centres and spreads, added in runs of random length so that the
  // four partial sums and the remainder loop all see use.
  const double centre[channels] = {0, -3, 1e3, 1e-3, 7.5e6};
  const double spread[channels] = {1, 0.25, 10, 1e-5, 3};
  std::uniform_int_distribution<std::size_t> run_length(1, 37);
  for (int run = 0; run < 2000; ++run) {
    const std::size_t c = static_cast<std::size_t>(run) % channels;
    std::normal_distribution<double> normal(centre[c], spread[c]);
    std::vector<double> values(run_length(rng));
    for (double& v : values) v = normal(rng);
    acc.add(c, values.data(), values.size());
    data[c].insert(data[c].end(), values.begin(), values.end());
  }
  const std::vector<channel_moments> m = acc.moments();
  REQUIRE(m.size() == channels);
  for (std::size_t c = 0; c < channels; ++c) {
    CAPTURE(c);
    const reference r = two_pass(data[c]);
    CHECK(m[c].count == data[c].size());
    // The mean's error is measured against the channel's spread: channel 0 centres on 0.
    CHECK(std::fabs(m[c].mean - r.mean) < 1e-14L * (std::fabs(r.mean) + spread[c]));
    CHECK(relative_error(m[c].m2, r.m2) < 1e-12);
    CHECK(m[c].min == *std::min_element(data[c].begin(), data[c].end()));
    CHECK(m[c].max == *std::max_element(data[c].begin(), data[c].end()));
  }
}

TEST_CASE("float32 data 1e4 + 0.01·N(0,1) keep their variance (no cancellation)") {
  // E[x²] − E[x]² here subtracts two numbers near 1e8 to get 1e-4: a float32 or even a double
  // single pass loses most digits (pytorch/pytorch#5410).
  std::mt19937_64 rng(5410);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<double> x(200000);
  for (double& v : x) v = static_cast<double>(1e4f + 0.01f * normal(rng));
  const reference r = two_pass(x);
  const channel_moments m = moments_of(x);
  CHECK(relative_error(m.mean, r.mean) < 1e-15);
  CHECK(relative_error(m.var(), r.m2 / static_cast<long double>(x.size())) < 1e-10);
  CHECK(m.var() == doctest::Approx(1e-4).epsilon(0.05));  // float32 spacing at 1e4 is ~1e-3

  // The case is hard: the naive double single pass is far off.
  double s1 = 0, s2 = 0;
  for (double v : x) {
    s1 += v;
    s2 += v * v;
  }
  const double n = static_cast<double>(x.size());
  const double naive = s2 / n - (s1 / n) * (s1 / n);
  CHECK(relative_error(naive, r.m2 / static_cast<long double>(x.size())) > 1e-8);
}

TEST_CASE("a constant channel has variance exactly 0") {
  for (const double c : {0.1, 1e4, -7.25, 1e300, static_cast<double>(1e4f + 0.01f)}) {
    CAPTURE(c);
    const std::vector<double> x(1001, c);
    const channel_moments m = moments_of(x);
    CHECK(m.mean == c);
    CHECK(m.m2 == 0);
    CHECK(m.var() == 0);
    CHECK(m.var_unbiased() == 0);
  }
}

TEST_CASE("adding a channel's values in many calls equals adding them at once") {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> normal(50, 2);
  std::vector<double> x(1000);
  for (double& v : x) v = normal(rng);
  moments_accumulator pieces(1);
  for (std::size_t i = 0; i < x.size(); i += 3) {
    pieces.add(0, x.data() + i, std::min<std::size_t>(3, x.size() - i));
  }
  const channel_moments whole = moments_of(x);
  const channel_moments split = pieces.moments()[0];
  CHECK(split.count == whole.count);
  CHECK(split.mean == doctest::Approx(whole.mean).epsilon(1e-15));
  CHECK(split.m2 == doctest::Approx(whole.m2).epsilon(1e-12));
}

TEST_CASE("merge in any grouping equals the moments of the whole") {
  std::mt19937_64 rng(99);
  std::normal_distribution<double> normal(-20, 4);
  std::vector<double> a(101), b(7), c(1500);
  for (auto* part : {&a, &b, &c}) {
    for (double& v : *part) v = normal(rng);
  }
  std::vector<double> all = a;
  all.insert(all.end(), b.begin(), b.end());
  all.insert(all.end(), c.begin(), c.end());
  const reference r = two_pass(all);
  const channel_moments ma = moments_of(a), mb = moments_of(b), mc = moments_of(c);
  const channel_moments groupings[] = {
      bnorm::merge(bnorm::merge(ma, mb), mc), bnorm::merge(ma, bnorm::merge(mb, mc)),
      bnorm::merge(bnorm::merge(mc, ma), mb), bnorm::merge(mb, bnorm::merge(mc, ma)),
      bnorm::merge(bnorm::merge(mb, mc), ma),
  };
  for (const channel_moments& m : groupings) {
    CHECK(m.count == all.size());
    CHECK(relative_error(m.mean, r.mean) < 1e-14);
    CHECK(relative_error(m.m2, r.m2) < 1e-12);
    CHECK(m.min == *std::min_element(all.begin(), all.end()));
    CHECK(m.max == *std::max_element(all.begin(), all.end()));
    CHECK(m.nonfinite == 0);
  }
  SUBCASE("an empty side returns the other unchanged") {
    const channel_moments empty;
    const channel_moments left = bnorm::merge(empty, ma), right = bnorm::merge(ma, empty);
    for (const channel_moments& m : {left, right}) {
      CHECK(m.count == ma.count);
      CHECK(m.mean == ma.mean);
      CHECK(m.m2 == ma.m2);
      CHECK(m.min == ma.min);
      CHECK(m.max == ma.max);
    }
  }
  SUBCASE("merging single values reproduces the hand-worked moments") {
    channel_moments m;
    for (double v : {1.0, 2.0, 3.0, 4.0}) m = bnorm::merge(m, moments_of({v}));
    CHECK(m.count == 4);
    CHECK(m.mean == 2.5);
    CHECK(m.m2 == 5);
  }
}

TEST_CASE("NaN makes mean and variance NaN, as numpy.mean and numpy.var do") {
  const channel_moments m = moments_of({1, qnan, 3});
  CHECK(m.count == 3);
  CHECK(std::isnan(m.mean));  // np.mean([1, np.nan, 3]) is nan
  CHECK(std::isnan(m.var()));
  CHECK(std::isnan(m.var_unbiased()));
  CHECK(m.nonfinite == 1);
  SUBCASE("min and max skip NaN") {
    CHECK(m.min == 1);
    CHECK(m.max == 3);
  }
  SUBCASE("NaN first: the shift is the first finite value") {
    const channel_moments first = moments_of({qnan, 2, 5});
    CHECK(std::isnan(first.mean));
    CHECK(first.min == 2);
    CHECK(first.max == 5);
    CHECK(first.nonfinite == 1);
  }
  SUBCASE("a channel of NaN only has no extremes") {
    const channel_moments only = moments_of({qnan, qnan});
    CHECK(only.count == 2);
    CHECK(only.nonfinite == 2);
    CHECK(std::isnan(only.mean));
    CHECK(std::isnan(only.min));
    CHECK(std::isnan(only.max));
  }
}

TEST_CASE("infinities enter the moments as numpy lets them") {
  SUBCASE("one +inf: mean inf, var NaN") {
    const channel_moments m = moments_of({1, inf, 3});  // np.mean → inf, np.var → nan
    CHECK(m.mean == inf);
    CHECK(std::isnan(m.var()));
    CHECK(m.min == 1);
    CHECK(m.max == inf);
    CHECK(m.nonfinite == 1);
  }
  SUBCASE("one -inf") {
    const channel_moments m = moments_of({1, 2, -inf, 3, 4});
    CHECK(m.mean == -inf);
    CHECK(std::isnan(m.var()));
    CHECK(m.min == -inf);
    CHECK(m.max == 4);
  }
  SUBCASE("+inf and -inf: mean NaN") {
    const channel_moments m = moments_of({inf, -inf, 0});
    CHECK(std::isnan(m.mean));
    CHECK(std::isnan(m.var()));
    CHECK(m.min == -inf);
    CHECK(m.max == inf);
    CHECK(m.nonfinite == 2);
  }
  SUBCASE("infinities only") {
    const channel_moments plus = moments_of({inf, inf});
    CHECK(plus.mean == inf);
    CHECK(plus.min == inf);
    CHECK(plus.max == inf);
    const channel_moments minus = moments_of({-inf});
    CHECK(minus.mean == -inf);
    CHECK(minus.min == -inf);
    CHECK(minus.max == -inf);
  }
  SUBCASE("nonfinite counts NaN and both infinities") {
    const channel_moments m = moments_of({qnan, inf, -inf, 1, qnan, 2, 3, 4, 5});
    CHECK(m.nonfinite == 4);
    CHECK(m.count == 9);
  }
}

TEST_CASE("merge keeps NaN and extremes as the whole does") {
  const channel_moments merged = bnorm::merge(moments_of({1, qnan}), moments_of({3, 4}));
  CHECK(merged.count == 4);
  CHECK(std::isnan(merged.mean));
  CHECK(merged.nonfinite == 1);
  CHECK(merged.min == 1);
  CHECK(merged.max == 4);
  // A NaN-only block has no extremes to contribute.
  const channel_moments with_empty_extremes = bnorm::merge(moments_of({qnan}), moments_of({3, 4}));
  CHECK(with_empty_extremes.min == 3);
  CHECK(with_empty_extremes.max == 4);
}

// Regression: merge computed the mean as a.mean + (b.mean − a.mean)·nb/n, so a block whose mean
// is ±inf gave inf − inf = NaN, while the moments of the whole (and numpy.mean) are ±inf.
TEST_CASE("merge of a block with an infinite mean keeps the infinity") {
  const channel_moments whole = moments_of({inf, 1, 2});
  REQUIRE(whole.mean == inf);
  const channel_moments merged = bnorm::merge(moments_of({inf}), moments_of({1, 2}));
  CHECK(merged.mean == inf);
  const channel_moments both = bnorm::merge(moments_of({inf}), moments_of({inf}));
  CHECK(both.mean == inf);
}

// Regression (found in review): with a channel's first value as the shift of plain shifted
// sums, an outlier there cost log10(n) digits of the variance.  Runs are now two-pass.
TEST_CASE("a first value far from the rest does not cost digits of the variance") {
  std::mt19937_64 rng(77);
  std::normal_distribution<double> normal(0.0, 1e-3);
  std::vector<double> x(1 << 20);
  for (double& v : x) v = 1 + normal(rng);
  x[0] = 1e5;
  moments_accumulator acc(1);
  for (std::size_t first = 0; first < x.size(); first += 16384) {
    acc.add(0, x.data() + first, std::min<std::size_t>(16384, x.size() - first));
  }
  const reference r = two_pass(x);
  CHECK(relative_error(acc.moments()[0].m2, r.m2) < 1e-13);
  CHECK(std::fabs(acc.moments()[0].mean - r.mean) < 1e-14L * std::fabs(r.mean));
}

// --- NaN and ±Inf on every path, and finite values near the end of double's range ---------

namespace {

constexpr double big = 1.7e308;  // 2·big and big² leave double's range

// Accumulates x (one channel) through a given path: one run, many short runs, the interleaved
// (channels-last) path between two other channels, or two accumulators merged.
enum class path { run, runs, interleaved, merged };

channel_moments through(path p, const std::vector<double>& x) {
  switch (p) {
    case path::run:
      return moments_of(x);
    case path::runs: {
      moments_accumulator acc(1);
      for (std::size_t i = 0; i < x.size(); i += 3) {
        acc.add(0, x.data() + i, std::min<std::size_t>(3, x.size() - i));
      }
      return acc.moments()[0];
    }
    case path::interleaved: {
      // Channel 1 of three, neighbours 7 and 9: chunks of 4 samples each.
      std::vector<double> cycled;
      for (double v : x) cycled.insert(cycled.end(), {7.0, v, 9.0});
      moments_accumulator acc(3);
      for (std::size_t i = 0; i < cycled.size(); i += 12) {
        acc.add_interleaved(0, cycled.data() + i, std::min<std::size_t>(12, cycled.size() - i));
      }
      const std::vector<channel_moments> all = acc.moments();
      CHECK(all[0].mean == 7);  // the neighbours are untouched
      CHECK(all[0].m2 == 0);
      CHECK(all[2].mean == 9);
      CHECK(all[2].nonfinite == 0);
      return all[1];
    }
    case path::merged: {
      const std::size_t half = x.size() / 2;
      return bnorm::merge(moments_of({x.begin(), x.begin() + static_cast<std::ptrdiff_t>(half)}),
                          moments_of({x.begin() + static_cast<std::ptrdiff_t>(half), x.end()}));
    }
  }
  return {};
}

const char* name_of(path p) {
  switch (p) {
    case path::run:
      return "one run";
    case path::runs:
      return "runs of 3";
    case path::interleaved:
      return "interleaved";
    case path::merged:
      return "two halves merged";
  }
  return "";
}

constexpr path paths[] = {path::run, path::runs, path::interleaved, path::merged};

}  // namespace

// Regression: the interleaved path took a channel whose finite values were all equal for a
// constant run (min == max skips NaN) before looking for NaN, so 5, 5, NaN, 5 had mean 5,
// variance 0 and nonfinite 0.  Every path, every position, every kind of neighbour.
TEST_CASE("a NaN or an infinity anywhere in a channel reaches its moments on every path") {
  const double specials[][2] = {{qnan, 0}, {inf, 0}, {-inf, 0}, {inf, -inf}};
  for (path p : paths) {
    for (const auto& special : specials) {
      for (int rest = 0; rest < 3; ++rest) {
        for (std::size_t where = 0; where < 9; ++where) {
          std::vector<double> x(9, 5.0);
          if (rest == 1) x[(where + 1) % 9] = 6;  // all but one equal
          if (rest == 2)
            for (std::size_t i = 0; i < 9; ++i) x[i] = 0.5 * double(i * i);  // varying
          x[where] = special[0];
          if (special[1] != 0) x[(where + 4) % 9] = special[1];
          const channel_moments m = through(p, x);
          CAPTURE(std::string(name_of(p)));
          CAPTURE(special[0]);
          CAPTURE(rest);
          CAPTURE(where);
          CHECK(m.count == 9);
          CHECK(m.nonfinite == (special[1] != 0 ? 2u : 1u));
          CHECK(std::isnan(m.var()));
          if (std::isnan(special[0]) || special[1] != 0) {
            CHECK(std::isnan(m.mean));
          } else {
            CHECK(m.mean == special[0]);
          }
        }
      }
    }
  }
}

// The exact moments of values near ±1.8e308, from long double (its exponent reaches 16383, so
// nothing overflows there): the mean must come out finite and within a few ulps of it, and M2,
// whose true value exceeds double's range whenever such values differ at all, must be +inf
// (what it rounds to), never NaN, and never 0 beside a NaN mean.
TEST_CASE("finite values near ±1.8e308 give the right mean on every path") {
  static_assert(std::numeric_limits<long double>::max_exponent > 1024,
                "the reference needs long double's wider exponent");
  const std::vector<std::vector<double>> cases = {
      {big, big, big, big, big, big},                     // constant: sum overflows
      {big, 1.6e308, 1.75e308, 1.65e308, big, 1.79e308},  // same sign, spread 1e307
      {big, -big, 1e308, -0.5e308, 3, -big},              // both signs
      {big, big, big, -big, -big, -big},                  // halves far apart: mean 0
      {-big, -1.6e308, -1.75e308, -1.65e308, -big, -1.79e308},
      {1, 2, 3, big, big, big},  // ordinary values, then huge ones
  };
  for (path p : paths) {
    for (const std::vector<double>& x : cases) {
      CAPTURE(std::string(name_of(p)));
      CAPTURE(x[1]);
      const channel_moments m = through(p, x);
      const reference r = two_pass(x);
      CHECK(m.nonfinite == 0);
      REQUIRE(std::isfinite(m.mean));
      CHECK(std::fabs(m.mean - r.mean) <=
            4 * std::numeric_limits<double>::epsilon() * std::max(std::fabs(r.mean), 1e308L));
      if (r.m2 == 0) {
        CHECK(m.m2 == 0);
      } else {
        REQUIRE(r.m2 > std::numeric_limits<double>::max());
        CHECK(m.m2 == inf);
        CHECK(m.var() == inf);
      }
      CHECK(m.min == *std::min_element(x.begin(), x.end()));
      CHECK(m.max == *std::max_element(x.begin(), x.end()));
    }
  }
}

TEST_CASE("runs far from the channel's first run are measured without overflow") {
  // The first run's mean becomes the channel's shift; -big − big leaves double's range.
  moments_accumulator acc(1);
  const double high[] = {big, big}, low[] = {-big, -big, -big, -big};
  acc.add(0, high, 2);
  acc.add(0, low, 4);
  acc.add(0, high, 2);
  const channel_moments m = acc.moments()[0];
  CHECK(std::fabs(m.mean) <= 4 * std::numeric_limits<double>::epsilon() * big);  // exactly 0
  CHECK(m.m2 == inf);
  CHECK(m.nonfinite == 0);

  moments_accumulator interleaved(2);
  const double first[] = {big, 1, big, 2}, second[] = {-big, 3, -big, 4};
  interleaved.add_interleaved(0, first, 4);
  interleaved.add_interleaved(0, second, 4);
  const std::vector<channel_moments> both = interleaved.moments();
  CHECK(both[0].mean == 0);
  CHECK(both[0].m2 == inf);
  CHECK(both[1].mean == 2.5);
  CHECK(both[1].m2 == 5);
}

TEST_CASE("merge of finite means further apart than double's range") {
  const channel_moments m = bnorm::merge(moments_of({big, big, big}), moments_of({-big}));
  CHECK(m.mean == doctest::Approx(big / 2).epsilon(1e-15));
  CHECK(m.m2 == inf);  // 3·(2·big)²/4, far past double's range: +inf, not NaN
  CHECK(m.nonfinite == 0);
  // Data that holds an infinity keeps the NaN spread.
  CHECK(std::isnan(bnorm::merge(moments_of({inf}), moments_of({-big})).m2));
}

// float16's largest values are ordinary in double (65504 = 2^16 − 2^5, whose sums and squares
// are exact there): no overflow, and moments within a few ulps of the exact ones (the shifted
// runs round once or twice).
TEST_CASE("values near ±65504 (float16's range) keep their moments") {
  const std::vector<std::vector<double>> cases = {
      {65504, 65504, 65504, 65504},
      {65504, -65504, 65504, -65504},
      {65504, 65472, -65504, 0, 65504, -65472, 65504, 65504},
  };
  for (path p : paths) {
    for (const std::vector<double>& x : cases) {
      CAPTURE(std::string(name_of(p)));
      const channel_moments m = through(p, x);
      const reference r = two_pass(x);
      CHECK(std::fabs(m.mean - r.mean) <= 4 * std::numeric_limits<double>::epsilon() * 65504);
      CHECK(std::fabs(m.m2 - r.m2) <= 4 * std::numeric_limits<double>::epsilon() * r.m2);
      CHECK(m.nonfinite == 0);
    }
  }
}

// Regression: M2 = Σ(x − mean)² was a plain double, so ±1e154 (variance 1e308, M2 2e308) had
// variance +inf, and apply wrote 0 where torch's formula gives ±1.  M2 past double's range is
// now kept scaled by 2^-64 (m2_exponent), on every path; the reference is long double's.
TEST_CASE("a sum of squares past double's range keeps a finite variance on every path") {
  std::mt19937_64 rng(9);
  std::uniform_real_distribution<double> spread(0.5, 1.0);
  std::vector<double> many(10000);  // M2 about 1e4·(1e153)²: past the range; var 1e306
  for (std::size_t i = 0; i < many.size(); ++i) {
    many[i] = (i % 2 == 0 ? 1 : -1) * 2e153 * spread(rng);
  }
  const std::vector<std::vector<double>> cases = {
      {1e154, -1e154},
      {1.3e154, -1.3e154, 1.2e154, -1.25e154, 3, 1.1e154},
      {5e153, 1e154, 1.2e154, -1e154, -1.3e154, 0},
      many,
  };
  for (path p : paths) {
    for (const std::vector<double>& x : cases) {
      CAPTURE(std::string(name_of(p)));
      CAPTURE(x.size());
      const channel_moments m = through(p, x);
      const reference r = two_pass(x);
      REQUIRE(r.m2 > std::numeric_limits<double>::max());
      const long double var = r.m2 / static_cast<long double>(x.size());
      REQUIRE(var < std::numeric_limits<double>::max());
      CHECK(m.nonfinite == 0);
      CHECK(m.m2_exponent == bnorm::m2_scale);
      CHECK(std::fabs(m.var() - var) <= 1e-14L * var);
      CHECK(std::fabs(m.mean - r.mean) <= 1e-15L * 1.3e154L);
      const long double unbiased = r.m2 / static_cast<long double>(x.size() - 1);
      if (unbiased < std::numeric_limits<double>::max()) {
        CHECK(std::fabs(m.var_unbiased() - unbiased) <= 1e-14L * unbiased);
      } else {
        CHECK(m.var_unbiased() == inf);  // 2e308 for ±1e154: past the range itself
      }
    }
  }
  SUBCASE("merged with ordinary moments, M2 stays scaled") {
    const channel_moments scaled = moments_of({1e154, -1e154});
    REQUIRE(scaled.m2_exponent == bnorm::m2_scale);
    channel_moments small = moments_of({1, 2, 3});
    CHECK(small.m2_exponent == 0);
    const channel_moments both = bnorm::merge(scaled, small);
    CHECK(both.m2_exponent == bnorm::m2_scale);
    CHECK(both.var() == doctest::Approx(4e307).epsilon(1e-15));  // (2e308 + ~4.4)/5
  }
}

namespace {

__extension__ typedef __int128 int128;

// |approx − numerator/denominator| in units of the last place of the double nearest it,
// through long double (64 bits, so good to 2^-11 of an ulp).
double ulps_from(double approx, int128 numerator, int128 denominator) {
  const long double exact =
      static_cast<long double>(numerator) / static_cast<long double>(denominator);
  const double nearest = static_cast<double>(exact);
  return static_cast<double>(std::fabs(static_cast<long double>(approx) - exact) /
                             (std::nextafter(std::fabs(nearest), INFINITY) - std::fabs(nearest)));
}

}  // namespace

TEST_CASE("extended moments of float64 data with a large offset are correctly rounded") {
  // x = 1e8 + k·2^-26: every value is exact, X = x·2^26 a whole number, so the exact mean is
  // ΣX/(n·2^26) and M2 = (n·ΣX² − (ΣX)²)/(n·2^52), which __int128 holds.
  std::mt19937_64 rng(21);
  constexpr int n = 1000;
  std::vector<double> x(n);
  int128 sum = 0, squares = 0;
  for (double& v : x) {
    const auto k = static_cast<std::int64_t>(rng() % 2001) - 1000;
    const std::int64_t whole = 100000000LL * (1LL << 26) + k;
    v = std::ldexp(static_cast<double>(whole), -26);
    sum += whole;
    squares += static_cast<int128>(whole) * whole;
  }
  const int128 scale = int128{1} << 26;
  const int128 m2_numerator = n * squares - sum * sum;
  const auto check = [&](const channel_moments& m) {
    CHECK(m.extended);
    CHECK(m.count == static_cast<std::uint64_t>(n));
    CHECK(ulps_from(m.mean, sum, n * scale) <= 0.5);
    CHECK(ulps_from(m.var(), m2_numerator, int128{n} * n * scale * scale) <= 0.5);
    CHECK(ulps_from(m.var_unbiased(), m2_numerator, int128{n} * (n - 1) * scale * scale) <= 0.5);
  };
  SUBCASE("in runs of one channel") {
    moments_accumulator acc(1, true);
    for (std::size_t i = 0; i < x.size(); i += 37)
      acc.add(0, x.data() + i, std::min<std::size_t>(37, n - i));
    check(acc.moments()[0]);
  }
  SUBCASE("interleaved (channels last), one channel") {
    moments_accumulator acc(1, true);
    acc.add_interleaved(0, x.data(), 600);
    acc.add_interleaved(0, x.data() + 600, n - 600);
    check(acc.moments()[0]);
  }
  SUBCASE("merged from accumulators of different origins") {
    moments_accumulator a(1, true), b(1, true), c(1, true);
    a.add(0, x.data(), 10);
    b.add(0, x.data() + 10, 500);
    c.add(0, x.data() + 510, n - 510);
    check(bnorm::merge(bnorm::merge(a.moments()[0], b.moments()[0]), c.moments()[0]));
    check(bnorm::merge(a.moments()[0], bnorm::merge(c.moments()[0], b.moments()[0])));
  }
}
