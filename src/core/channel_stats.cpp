#include "channel_stats.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <xsimd/xsimd.hpp>

namespace bnorm {

namespace {
constexpr double nan = std::numeric_limits<double>::quiet_NaN();
constexpr double inf = std::numeric_limits<double>::infinity();
}  // namespace

double channel_moments::var() const {
  return count == 0 ? nan : m2 / static_cast<double>(count);
}

double channel_moments::var_unbiased() const {
  return count < 2 ? nan : m2 / static_cast<double>(count - 1);
}

channel_moments merge(const channel_moments& a, const channel_moments& b) {
  if (a.count == 0) return b;
  if (b.count == 0) return a;
  channel_moments m;
  m.count = a.count + b.count;
  const double na = static_cast<double>(a.count), nb = static_cast<double>(b.count);
  const double n = static_cast<double>(m.count);
  const double delta = b.mean - a.mean;
  if (std::isfinite(delta)) {
    m.mean = a.mean + delta * (nb / n);
    m.m2 = a.m2 + b.m2 + delta * delta * (na * nb / n);
  } else {
    // An infinite (or NaN) mean: the weighted sum gives inf, or NaN for inf − inf, as the
    // mean of all the values would; the spread of such data is undefined.
    m.mean = a.mean * (na / n) + b.mean * (nb / n);
    m.m2 = std::numeric_limits<double>::quiet_NaN();
  }
  m.min = std::fmin(a.min, b.min);
  m.max = std::fmax(a.max, b.max);
  m.nonfinite = a.nonfinite + b.nonfinite;
  return m;
}

moments_accumulator::moments_accumulator(std::size_t channels) : sums_(channels) {
  for (sums& s : sums_) {
    s.min = inf;
    s.max = -inf;
  }
}

void moments_accumulator::add(std::size_t channel, const double* values, std::size_t count) {
  sums& s = sums_[channel];
  if (!s.shifted) {
    const double* first =
        std::find_if(values, values + count, [](double v) { return std::isfinite(v); });
    if (first != values + count) {
      s.shift = *first;
      s.shifted = true;
    }
  }
  // Two SIMD batches of partial sums and extremes (xsimd picks the widest instructions the
  // build targets): the hot loop of every statistics pass.  v < lo ? v : lo skips NaN.
  using batch = xsimd::batch<double>;
  constexpr std::size_t lanes = batch::size;
  const batch shift(s.shift);
  batch s1a(0.0), s1b(0.0), s2a(0.0), s2b(0.0);
  batch loa(s.min), lob(s.min), hia(s.max), hib(s.max);
  std::size_t i = 0;
  for (; i + 2 * lanes <= count; i += 2 * lanes) {
    const batch va = batch::load_unaligned(values + i);
    const batch vb = batch::load_unaligned(values + i + lanes);
    const batch da = va - shift, db = vb - shift;
    s1a += da;
    s1b += db;
    s2a += da * da;
    s2b += db * db;
    loa = xsimd::select(va < loa, va, loa);
    lob = xsimd::select(vb < lob, vb, lob);
    hia = xsimd::select(va > hia, va, hia);
    hib = xsimd::select(vb > hib, vb, hib);
  }
  double s1 = xsimd::hadd(s1a + s1b), s2 = xsimd::hadd(s2a + s2b);
  alignas(64) double lo_lanes[2 * lanes], hi_lanes[2 * lanes];
  loa.store_unaligned(lo_lanes);
  lob.store_unaligned(lo_lanes + lanes);
  hia.store_unaligned(hi_lanes);
  hib.store_unaligned(hi_lanes + lanes);
  double lo = s.min, hi = s.max;
  for (std::size_t k = 0; k < 2 * lanes; ++k) {
    lo = lo_lanes[k] < lo ? lo_lanes[k] : lo;
    hi = hi_lanes[k] > hi ? hi_lanes[k] : hi;
  }
  for (; i < count; ++i) {
    const double v = values[i];
    const double d = v - s.shift;
    s1 += d;
    s2 += d * d;
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
  }
  // NaN and ±Inf make the sums non-finite, so finite sums prove there are none to count.
  if (!std::isfinite(s1) || !std::isfinite(s2)) {
    s.nonfinite += static_cast<std::uint64_t>(
        std::count_if(values, values + count, [](double v) { return !std::isfinite(v); }));
  }
  s.s1 += s1;
  s.s2 += s2;
  s.min = lo;
  s.max = hi;
  s.count += count;
}

void moments_accumulator::add_interleaved(std::size_t channel, const double* values,
                                          std::size_t count) {
  const std::size_t channels = sums_.size();
  for (std::size_t i = 0; i < count; ++i) {
    sums& s = sums_[channel];
    const double v = values[i];
    if (!s.shifted && std::isfinite(v)) {
      s.shift = v;
      s.shifted = true;
    }
    const double d = v - s.shift;
    s.s1 += d;
    s.s2 += d * d;
    s.min = v < s.min ? v : s.min;
    s.max = v > s.max ? v : s.max;
    s.nonfinite += !std::isfinite(v);
    ++s.count;
    if (++channel == channels) channel = 0;
  }
}

std::vector<channel_moments> moments_accumulator::moments() const {
  std::vector<channel_moments> result(sums_.size());
  for (std::size_t c = 0; c < sums_.size(); ++c) {
    const sums& s = sums_[c];
    channel_moments& m = result[c];
    m.count = s.count;
    m.nonfinite = s.nonfinite;
    if (s.count == 0) {
      m.mean = m.m2 = m.min = m.max = nan;
      continue;
    }
    const double n = static_cast<double>(s.count);
    m.mean = s.shift + s.s1 / n;
    m.m2 = s.s2 - s.s1 * (s.s1 / n);
    if (m.m2 < 0) m.m2 = 0;  // rounding can leave a tiny negative for a constant channel
    // With NaN or ±Inf among the values, the sums are NaN or ±Inf; M2 is then NaN, as PyTorch's
    // variance of such a channel is.
    if (!std::isfinite(m.mean)) m.m2 = nan;
    const bool only_nan = s.min == inf && s.max == -inf;  // no extremes to report
    m.min = only_nan ? nan : s.min;
    m.max = only_nan ? nan : s.max;
  }
  return result;
}

}  // namespace bnorm
