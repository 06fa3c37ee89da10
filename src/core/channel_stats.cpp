#include "channel_stats.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <xsimd/xsimd.hpp>

namespace bnorm {

namespace {
constexpr double nan = std::numeric_limits<double>::quiet_NaN();
constexpr double inf = std::numeric_limits<double>::infinity();
}  // namespace

double channel_moments::var() const {
  return count == 0 ? nan : std::ldexp(m2 / static_cast<double>(count), m2_exponent);
}

double channel_moments::var_unbiased() const {
  return count < 2 ? nan : std::ldexp(m2 / static_cast<double>(count - 1), m2_exponent);
}

namespace {

// Stores M2 = scaled·2^m2_scale: unscaled where that fits in a double (so that the usual
// case is untouched), else scaled (then +inf only where even the variance is past the range).
void set_scaled_m2(channel_moments& m, double scaled) {
  const double unscaled = std::ldexp(scaled, m2_scale);
  const bool fits = std::isfinite(unscaled) || !std::isfinite(scaled);
  m.m2 = fits ? unscaled : scaled;
  m.m2_exponent = fits ? 0 : m2_scale;
}

// Chan's M2 of a merge whose sum of squares leaves double's range: every term scaled by
// 2^-m2_scale, which is exact (what underflows is far below the rounding of such a sum).
double scaled_merged_m2(const channel_moments& a, const channel_moments& b, double delta,
                        double weight) {
  const double d = std::ldexp(delta, -m2_scale / 2);
  return std::ldexp(a.m2, a.m2_exponent - m2_scale) + std::ldexp(b.m2, b.m2_exponent - m2_scale) +
         d * d * weight;
}

}  // namespace

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
    if (a.m2_exponent != 0 || b.m2_exponent != 0 ||
        (!std::isfinite(m.m2) && std::isfinite(a.m2) && std::isfinite(b.m2))) {
      set_scaled_m2(m, scaled_merged_m2(a, b, delta, na * nb / n));
    }
  } else if (std::isfinite(a.mean) && std::isfinite(b.mean)) {
    // Finite means further apart than double's range: the weighted sum keeps the mean in
    // range, and the squared deviations of such data exceed it (M2 ≥ δ²·na·nb/n), so M2 is
    // +inf, as it rounds, not NaN as for data that holds a NaN or ±Inf.
    m.mean = a.mean * (na / n) + b.mean * (nb / n);
    m.m2 = inf;
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

namespace {

// The moments of one run of x − shift, by two passes over values still in cache: the mean,
// then the squared deviations from it (with the classic correction for the mean's own
// rounding).  min and max are of x itself.  The mean is returned in two parts, base + mean,
// so that a caller moving its shift to base keeps the small remainder exactly.
struct run_result {
  channel_moments moments;
  double base = 0;
  // False when the run's mean, less the shift, leaves double's range (finite values of both
  // signs near ±1.8e308): measure the run around 0 instead.
  bool fits = true;
};

bool is_nonfinite(double v) {
  return !std::isfinite(v);
}

// The mean of values of which some are NaN or ±Inf, as the exact mean of the extended reals
// is, whatever the order of summation: NaN with a NaN or with both infinities, else the
// infinity's sign.  (A plain sum could also meet a finite sum that overflowed the other way.)
double nonfinite_mean(const double* values, std::size_t count) {
  bool plus = false, minus = false;
  for (std::size_t i = 0; i < count; ++i) {
    const double v = values[i];
    if (std::isnan(v)) return nan;
    plus = plus || v == inf;
    minus = minus || v == -inf;
  }
  return plus && minus ? nan : plus ? inf : -inf;
}

// The mean of x − shift for finite values whose plain sum leaves double's range.  Each term is
// scaled by 2^-k with count < 2^(k−1) first, which is exact (but for subnormals, whose loss is
// far below the rounding of such a sum) and keeps every partial sum in range; the result is
// ±inf only when the mean itself is out of range.
double scaled_mean(const double* values, std::size_t count, double shift) {
  const int k = static_cast<int>(std::bit_width(count)) + 1;
  const double down = std::ldexp(1.0, -k);
  const double scaled_shift = shift * down;
  double sum = 0;
  for (std::size_t i = 0; i < count; ++i) sum += values[i] * down - scaled_shift;
  return std::ldexp(sum / static_cast<double>(count), k);
}

// The second pass of run_moments for deviations whose squares sum past double's range: the
// same sums of (x − centre)·2^-(m2_scale/2), exact scalings, so that M2 is kept scaled.  Where
// even a deviation overflows, the variance does too: M2 is +inf, and the mean the first
// pass's (its correction would be inf − inf).
void scaled_second_pass(channel_moments& m, const double* values, std::size_t count,
                        double centre) {
  const double n = static_cast<double>(count);
  double deviation = 0, squares = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const double e = std::ldexp(values[i] - centre, -m2_scale / 2);
    deviation += e;
    squares += e * e;
  }
  if (!std::isfinite(squares)) {
    m.mean = 0;
    m.m2 = inf;
    return;
  }
  m.mean = std::ldexp(deviation / n, m2_scale / 2);
  set_scaled_m2(m, std::max(0.0, squares - deviation * (deviation / n)));
}

run_result run_moments(const double* values, std::size_t count, double shift) {
  using batch = xsimd::batch<double>;
  constexpr std::size_t lanes = batch::size;
  channel_moments m;
  m.count = count;
  const batch k(shift);
  batch sa(0.0), sb(0.0), loa(inf), lob(inf), hia(-inf), hib(-inf);
  std::size_t i = 0;
  for (; i + 2 * lanes <= count; i += 2 * lanes) {
    const batch va = batch::load_unaligned(values + i);
    const batch vb = batch::load_unaligned(values + i + lanes);
    sa += va - k;
    sb += vb - k;
    // min(v, lo) is v < lo ? v : lo, one instruction (SSE2's minpd): it keeps lo when v is
    // NaN, so extremes skip NaN, and lo is never NaN.
    loa = xsimd::min(va, loa);
    lob = xsimd::min(vb, lob);
    hia = xsimd::max(va, hia);
    hib = xsimd::max(vb, hib);
  }
  double sum = xsimd::hadd(sa + sb);
  alignas(64) double lo_lanes[2 * lanes], hi_lanes[2 * lanes];
  loa.store_unaligned(lo_lanes);
  lob.store_unaligned(lo_lanes + lanes);
  hia.store_unaligned(hi_lanes);
  hib.store_unaligned(hi_lanes + lanes);
  double lo = inf, hi = -inf;
  for (std::size_t j = 0; j < 2 * lanes; ++j) {
    lo = lo_lanes[j] < lo ? lo_lanes[j] : lo;
    hi = hi_lanes[j] > hi ? hi_lanes[j] : hi;
  }
  for (; i < count; ++i) {
    sum += values[i] - shift;
    lo = values[i] < lo ? values[i] : lo;
    hi = values[i] > hi ? values[i] : hi;
  }
  m.min = lo;
  m.max = hi;
  const double n = static_cast<double>(count);
  // A NaN or ±Inf among the values always makes the sum NaN or ±Inf, so this test is the
  // check for them, made before any shortcut (min and max skip NaN).
  double estimate = sum / n;
  if (!std::isfinite(sum)) {
    m.nonfinite = static_cast<std::uint64_t>(std::count_if(values, values + count, is_nonfinite));
    if (m.nonfinite > 0) {
      m.mean = nonfinite_mean(values, count);
      m.m2 = nan;
      return {m, 0};
    }
    estimate = scaled_mean(values, count, shift);  // finite values whose sum overflowed
  }
  if (lo == hi) {
    // A constant run: exact, so that a constant channel normalizes to exactly β.
    m.mean = 0;
    m.m2 = 0;
    const double base = lo - shift;
    return {m, base, std::isfinite(base)};
  }
  // The deviations are taken from the double nearest shift + mean, and measured from it:
  // that centre, less the shift, is the run's base (exactly, as both are close).
  const double centre = shift + estimate;
  const double mean = centre - shift;
  if (!std::isfinite(estimate) || !std::isfinite(centre) || !std::isfinite(mean)) {
    return {m, 0, false};
  }
  const batch center(centre);
  batch da(0.0), db(0.0), qa(0.0), qb(0.0);
  i = 0;
  for (; i + 2 * lanes <= count; i += 2 * lanes) {
    const batch ea = batch::load_unaligned(values + i) - center;
    const batch eb = batch::load_unaligned(values + i + lanes) - center;
    da += ea;
    db += eb;
    qa += ea * ea;
    qb += eb * eb;
  }
  double deviation = xsimd::hadd(da + db), squares = xsimd::hadd(qa + qb);
  for (; i < count; ++i) {
    const double e = values[i] - centre;
    deviation += e;
    squares += e * e;
  }
  if (!std::isfinite(squares)) {
    scaled_second_pass(m, values, count, centre);
    return {m, mean};
  }
  // Σ(x − mean) is zero in exact arithmetic; what is left is the mean's rounding, which the
  // corrected two-pass formula removes (Chan, Golub & LeVeque 1983).
  m.mean = deviation / n;
  m.m2 = std::max(0.0, squares - deviation * (deviation / n));
  return {m, mean};
}

}  // namespace

moments_accumulator::moments_accumulator(std::size_t channels)
    : moments_(channels),
      shift_(channels, 0.0),
      chunk_sum_(channels),
      chunk_m2_(channels),
      chunk_min_(channels),
      chunk_max_(channels),
      chunk_count_(channels) {}

std::vector<channel_moments> moments_accumulator::moments() const {
  std::vector<channel_moments> result = moments_;
  for (std::size_t c = 0; c < result.size(); ++c) {
    channel_moments& m = result[c];
    m.mean += shift_[c];
    if (m.count == 0) m.mean = m.m2 = nan;
    if (m.count == 0 || m.min > m.max) m.min = m.max = nan;  // nothing but NaN seen
  }
  return result;
}

void moments_accumulator::merge_run(std::size_t channel, channel_moments run, double base) {
  if (moments_[channel].count == 0 && std::isfinite(base)) {
    // The first run's mean becomes the channel's shift: later runs are measured around it,
    // so their means are small and merging them loses nothing to a large offset.
    shift_[channel] += base;
  } else {
    run.mean += base;
  }
  moments_[channel] = merge(moments_[channel], run);
}

void moments_accumulator::add(std::size_t channel, const double* values, std::size_t count) {
  if (count == 0) return;
  run_result run = run_moments(values, count, shift_[channel]);
  if (!run.fits) {
    unshift(channel);
    run = run_moments(values, count, 0.0);
  }
  merge_run(channel, run.moments, run.base);
}

void moments_accumulator::unshift(std::size_t channel) {
  moments_[channel].mean += shift_[channel];
  shift_[channel] = 0;
}

void moments_accumulator::add_interleaved(std::size_t channel, const double* values,
                                          std::size_t count) {
  // The same two passes over a chunk whose channels cycle: per-channel means of x − shift
  // first, then the squared deviations from them, then one merge per channel.
  const std::size_t channels = moments_.size();
  std::fill(chunk_sum_.begin(), chunk_sum_.end(), 0.0);
  std::fill(chunk_m2_.begin(), chunk_m2_.end(), 0.0);
  std::fill(chunk_min_.begin(), chunk_min_.end(), inf);
  std::fill(chunk_max_.begin(), chunk_max_.end(), -inf);
  std::fill(chunk_count_.begin(), chunk_count_.end(), 0);
  std::size_t c = channel;
  for (std::size_t i = 0; i < count; ++i) {
    const double v = values[i];
    chunk_sum_[c] += v - shift_[c];
    chunk_min_[c] = v < chunk_min_[c] ? v : chunk_min_[c];
    chunk_max_[c] = v > chunk_max_[c] ? v : chunk_max_[c];
    ++chunk_count_[c];
    if (++c == channels) c = 0;
  }
  for (std::size_t k = 0; k < channels; ++k) {
    if (chunk_count_[k] > 0) chunk_sum_[k] /= static_cast<double>(chunk_count_[k]);  // the mean
  }
  c = channel;
  for (std::size_t i = 0; i < count; ++i) {
    const double e = values[i] - shift_[c] - chunk_sum_[c];
    chunk_m2_[c] += e * e;
    if (++c == channels) c = 0;
  }
  for (std::size_t k = 0; k < channels; ++k) {
    if (chunk_count_[k] == 0) continue;
    if (!std::isfinite(chunk_sum_[k]) || !std::isfinite(chunk_m2_[k])) {
      // A NaN or ±Inf among this channel's values (the sum is then NaN or ±Inf, whatever
      // min and max say), or finite values whose sum or sum of squares overflowed: measured
      // as one run, which counts the first and scales the others.
      add_strided(k, values + (k + channels - channel) % channels, chunk_count_[k], channels);
      continue;
    }
    channel_moments m;
    m.count = chunk_count_[k];
    m.mean = chunk_sum_[k];
    m.m2 = chunk_m2_[k];
    m.min = chunk_min_[k];
    m.max = chunk_max_[k];
    double base = 0;
    if (m.min == m.max && std::isfinite(m.min)) {
      base = m.min - shift_[k];  // a constant run, exactly
      m.mean = 0;
      m.m2 = 0;
    }
    merge_run(k, m, base);
  }
}

void moments_accumulator::add_strided(std::size_t channel, const double* first, std::size_t count,
                                      std::size_t stride) {
  strided_.resize(count);
  for (std::size_t i = 0; i < count; ++i) strided_[i] = first[i * stride];
  add(channel, strided_.data(), count);
}

}  // namespace bnorm
