// SPDX-License-Identifier: Apache-2.0
#include "channel_stats.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <xsimd/xsimd.hpp>

#include <immintrin.h>

namespace bnorm {

namespace {
constexpr double nan = std::numeric_limits<double>::quiet_NaN();
constexpr double inf = std::numeric_limits<double>::infinity();
// Terms per compensated sum before it is folded into a channel's double-double total: its
// error bound grows with the square of the count.
constexpr std::size_t extended_fold = 4096;
}  // namespace

double channel_moments::var() const {
  if (count == 0) return nan;
  if (m2_low != 0) return to_double(double_double{m2, m2_low} / static_cast<double>(count));
  return std::ldexp(m2 / static_cast<double>(count), m2_exponent);
}

double channel_moments::var_unbiased() const {
  if (count < 2) return nan;
  if (m2_low != 0) return to_double(double_double{m2, m2_low} / static_cast<double>(count - 1));
  return std::ldexp(m2 / static_cast<double>(count - 1), m2_exponent);
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

// Chan's update in double-double, with the difference of the means taken exactly, into m
// (whose count is set): the merge of float64 data's extended moments.  False, leaving m as it
// was, unless a side is extended, neither has a scaled M2 and the result is within range.
bool merge_extended(const channel_moments& a, const channel_moments& b, channel_moments& m) {
  if (!(a.extended || b.extended) || a.m2_exponent != 0 || b.m2_exponent != 0) return false;
  const double na = static_cast<double>(a.count), nb = static_cast<double>(b.count);
  const double n = static_cast<double>(m.count);
  const double_double d = two_sum(b.mean, -a.mean) + (b.mean_low - a.mean_low);
  const double_double mean = double_double{a.mean, a.mean_low} + d * (double_double{nb, 0} / n);
  const double_double m2 = double_double{a.m2, a.m2_low} + double_double{b.m2, b.m2_low} +
                           (d * d) * (two_prod(na, nb) / n);
  if (!std::isfinite(mean.hi) || !std::isfinite(m2.hi)) return false;
  m.extended = true;
  m.mean = mean.hi;
  m.mean_low = mean.lo;
  m.m2 = m2.hi;
  m.m2_low = m2.lo;
  return true;
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
  if (std::isfinite(delta) && merge_extended(a, b, m)) {
    // m holds the double-double update of float64 data's moments.
  } else if (std::isfinite(delta)) {
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
    m.extended = a.extended || b.extended;
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
// same sums of (x − centre)·2^-(m2_scale/2), each term scaled before the subtraction (exact,
// and no deviation overflows), so that M2 is kept scaled.  Where even the scaled squares
// overflow, the variance does too: M2 is +inf, but the deviations still correct the mean.
void scaled_second_pass(channel_moments& m, const double* values, std::size_t count,
                        double centre) {
  const double n = static_cast<double>(count);
  const double down = std::ldexp(1.0, -m2_scale / 2);
  const double scaled_centre = centre * down;
  // The deviations' sum compensated: with values of both signs they reach 2^-32·3.6e308 and
  // cancel, and a plain sum's rounding was measured at 9 ulps of the largest value.
  compensated_sum deviations;
  double squares = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const double e = values[i] * down - scaled_centre;
    deviations.add(e, 0);
    squares += e * e;
  }
  const double deviation = to_double(deviations.value());
  m.mean = std::isfinite(deviation) ? std::ldexp(deviation / n, m2_scale / 2) : 0;
  if (!std::isfinite(squares)) {
    m.m2 = inf;
    return;
  }
  set_scaled_m2(m, std::max(0.0, squares - deviation * (deviation / n)));
}

// The sums of run_moments' first pass: of x − shift, and the extremes of x.
struct first_pass_sums {
  double sum, lo, hi;
};

// The sums of its second pass: of the deviations x − centre and of their squares.
struct second_pass_sums {
  double deviation, squares;
};

// Four partial sums, one per value position mod 4, in lanes of two registers; the lanes are
// added as (0 + 2) + (1 + 3) and the extremes taken in lane order, which the AVX2 loops below
// repeat exactly, so that both give the same bits.
first_pass_sums first_pass(const double* values, std::size_t count, double shift) {
  using batch = xsimd::batch<double>;
  constexpr std::size_t lanes = batch::size;
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
  return {sum, lo, hi};
}

second_pass_sums second_pass(const double* values, std::size_t count, double centre) {
  using batch = xsimd::batch<double>;
  constexpr std::size_t lanes = batch::size;
  const batch center(centre);
  batch da(0.0), db(0.0), qa(0.0), qb(0.0);
  std::size_t i = 0;
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
  return {deviation, squares};
}

// (0 + 2) + (1 + 3), as first_pass adds its lanes.
__attribute__((target("avx2"))) inline double add_lanes_in_pairs(__m256d x) {
  alignas(32) double lane[4];
  _mm256_store_pd(lane, x);
  return (lane[0] + lane[2]) + (lane[1] + lane[3]);
}

// first_pass for `runs` runs side by side, four values of each a step, one lane per value
// position mod 4: the same bits, and independent runs' additions overlap instead of waiting
// for each other.  (AVX2 without FMA, so that no product is fused into a sum.)
template <std::size_t runs>
__attribute__((target("avx2"))) void first_passes_avx2(const double* const* values,
                                                       const std::size_t* count,
                                                       const double* shift, first_pass_sums* out) {
  __m256d k[runs], s[runs], lo[runs], hi[runs];
  std::size_t full[runs], common = count[0] / 4 * 4;
  for (std::size_t r = 0; r < runs; ++r) {
    k[r] = _mm256_set1_pd(shift[r]);
    s[r] = _mm256_setzero_pd();
    lo[r] = _mm256_set1_pd(inf);
    hi[r] = _mm256_set1_pd(-inf);
    full[r] = count[r] / 4 * 4;
    common = std::min(common, full[r]);
  }
  std::size_t i = 0;
  for (; i < common; i += 4) {
    for (std::size_t r = 0; r < runs; ++r) {
      const __m256d v = _mm256_loadu_pd(values[r] + i);
      s[r] = _mm256_add_pd(s[r], _mm256_sub_pd(v, k[r]));
      lo[r] = _mm256_min_pd(v, lo[r]);
      hi[r] = _mm256_max_pd(v, hi[r]);
    }
  }
  for (std::size_t r = 0; r < runs; ++r) {
    const double* x = values[r];
    for (std::size_t j = i; j < full[r]; j += 4) {
      const __m256d v = _mm256_loadu_pd(x + j);
      s[r] = _mm256_add_pd(s[r], _mm256_sub_pd(v, k[r]));
      lo[r] = _mm256_min_pd(v, lo[r]);
      hi[r] = _mm256_max_pd(v, hi[r]);
    }
    double sum = add_lanes_in_pairs(s[r]);
    alignas(32) double lo_lanes[4], hi_lanes[4];
    _mm256_store_pd(lo_lanes, lo[r]);
    _mm256_store_pd(hi_lanes, hi[r]);
    double low = inf, high = -inf;
    for (std::size_t j = 0; j < 4; ++j) {
      low = lo_lanes[j] < low ? lo_lanes[j] : low;
      high = hi_lanes[j] > high ? hi_lanes[j] : high;
    }
    for (std::size_t j = full[r]; j < count[r]; ++j) {
      sum += x[j] - shift[r];
      low = x[j] < low ? x[j] : low;
      high = x[j] > high ? x[j] : high;
    }
    out[r] = {sum, low, high};
  }
}

template <std::size_t runs>
__attribute__((target("avx2"))) void second_passes_avx2(const double* const* values,
                                                        const std::size_t* count,
                                                        const double* centre,
                                                        second_pass_sums* out) {
  __m256d c[runs], d[runs], q[runs];
  std::size_t full[runs], common = count[0] / 4 * 4;
  for (std::size_t r = 0; r < runs; ++r) {
    c[r] = _mm256_set1_pd(centre[r]);
    d[r] = q[r] = _mm256_setzero_pd();
    full[r] = count[r] / 4 * 4;
    common = std::min(common, full[r]);
  }
  std::size_t i = 0;
  for (; i < common; i += 4) {
    for (std::size_t r = 0; r < runs; ++r) {
      const __m256d e = _mm256_sub_pd(_mm256_loadu_pd(values[r] + i), c[r]);
      d[r] = _mm256_add_pd(d[r], e);
      q[r] = _mm256_add_pd(q[r], _mm256_mul_pd(e, e));
    }
  }
  for (std::size_t r = 0; r < runs; ++r) {
    const double* x = values[r];
    for (std::size_t j = i; j < full[r]; j += 4) {
      const __m256d e = _mm256_sub_pd(_mm256_loadu_pd(x + j), c[r]);
      d[r] = _mm256_add_pd(d[r], e);
      q[r] = _mm256_add_pd(q[r], _mm256_mul_pd(e, e));
    }
    double deviation = add_lanes_in_pairs(d[r]), squares = add_lanes_in_pairs(q[r]);
    for (std::size_t j = full[r]; j < count[r]; ++j) {
      const double e = x[j] - centre[r];
      deviation += e;
      squares += e * e;
    }
    out[r] = {deviation, squares};
  }
}

const bool have_avx2_only = __builtin_cpu_supports("avx2");

first_pass_sums first_pass_of(const double* values, std::size_t count, double shift) {
  if (!have_avx2_only) return first_pass(values, count, shift);
  first_pass_sums out;
  first_passes_avx2<1>(&values, &count, &shift, &out);
  return out;
}

second_pass_sums second_pass_of(const double* values, std::size_t count, double centre) {
  if (!have_avx2_only) return second_pass(values, count, centre);
  second_pass_sums out;
  second_passes_avx2<1>(&values, &count, &centre, &out);
  return out;
}

// A run after its first pass: final, or waiting for the second pass around `centre`.
struct run_progress {
  run_result result;
  double centre = 0;
  bool needs_second_pass = false;
};

run_progress after_first_pass(const double* values, std::size_t count, double shift,
                              const first_pass_sums& first) {
  channel_moments m;
  m.count = count;
  m.min = first.lo;
  m.max = first.hi;
  const double n = static_cast<double>(count);
  // A NaN or ±Inf among the values always makes the sum NaN or ±Inf, so this test is the
  // check for them, made before any shortcut (min and max skip NaN).
  double estimate = first.sum / n;
  if (!std::isfinite(first.sum)) {
    m.nonfinite = static_cast<std::uint64_t>(std::count_if(values, values + count, is_nonfinite));
    if (m.nonfinite > 0) {
      m.mean = nonfinite_mean(values, count);
      m.m2 = nan;
      return {{m, 0}};
    }
    estimate = scaled_mean(values, count, shift);  // finite values whose sum overflowed
  }
  if (first.lo == first.hi) {
    // A constant run: exact, so that a constant channel normalizes to exactly β.
    m.mean = 0;
    m.m2 = 0;
    const double base = first.lo - shift;
    return {{m, base, std::isfinite(base)}};
  }
  // The deviations are taken from the double nearest shift + mean, and measured from it:
  // that centre, less the shift, is the run's base (exactly, as both are close).
  const double centre = shift + estimate;
  const double mean = centre - shift;
  if (!std::isfinite(estimate) || !std::isfinite(centre) || !std::isfinite(mean)) {
    return {{m, 0, false}};
  }
  return {{m, mean}, centre, true};
}

run_result after_second_pass(run_progress run, const double* values, std::size_t count,
                             const second_pass_sums& second) {
  channel_moments& m = run.result.moments;
  if (!std::isfinite(second.squares)) {
    scaled_second_pass(m, values, count, run.centre);
    return run.result;
  }
  // Σ(x − mean) is zero in exact arithmetic; what is left is the mean's rounding, which the
  // corrected two-pass formula removes (Chan, Golub & LeVeque 1983).
  const double n = static_cast<double>(count);
  m.mean = second.deviation / n;
  m.m2 = std::max(0.0, second.squares - second.deviation * (second.deviation / n));
  return run.result;
}

run_result run_moments(const double* values, std::size_t count, double shift) {
  run_progress run = after_first_pass(values, count, shift, first_pass_of(values, count, shift));
  if (!run.needs_second_pass) return run.result;
  return after_second_pass(run, values, count, second_pass_of(values, count, run.centre));
}

// run_moments of two runs, whose passes go side by side where AVX2 allows.
void run_moments_two(const double* const (&values)[2], const std::size_t (&count)[2],
                     const double (&shift)[2], run_result (&out)[2]) {
  if (!have_avx2_only) {
    for (std::size_t r = 0; r < 2; ++r) out[r] = run_moments(values[r], count[r], shift[r]);
    return;
  }
  first_pass_sums first[2];
  first_passes_avx2<2>(values, count, shift, first);
  run_progress run[2];
  for (std::size_t r = 0; r < 2; ++r)
    run[r] = after_first_pass(values[r], count[r], shift[r], first[r]);
  if (run[0].needs_second_pass && run[1].needs_second_pass) {
    const double centre[2] = {run[0].centre, run[1].centre};
    second_pass_sums second[2];
    second_passes_avx2<2>(values, count, centre, second);
    for (std::size_t r = 0; r < 2; ++r)
      out[r] = after_second_pass(run[r], values[r], count[r], second[r]);
    return;
  }
  for (std::size_t r = 0; r < 2; ++r) {
    out[r] = run[r].needs_second_pass
                 ? after_second_pass(run[r], values[r], count[r],
                                     second_pass_of(values[r], count[r], run[r].centre))
                 : run[r].result;
  }
}

// One value's deviation from the origin, exactly, into the sums of deviations and squares.
inline void add_deviation(compensated_sum& sum, compensated_sum& squares, double value,
                          double origin) {
  const double_double e = two_sum(value, -origin);
  sum.add(e.hi, e.lo);
  const double_double p = two_prod(e.hi, e.hi);
  squares.add(p.hi, p.lo + e.lo * (2 * e.hi + e.lo));
}

inline void sum_deviations(const double* values, std::size_t count, double origin,
                           compensated_sum& sum, compensated_sum& squares) {
  // Four independent sums, so that the additions do not wait for each other.
  constexpr std::size_t ways = 4;
  compensated_sum sums[ways], squared[ways];
  std::size_t i = 0;
  for (; i + ways <= count; i += ways) {
    for (std::size_t k = 0; k < ways; ++k) {
      add_deviation(sums[k], squared[k], values[i + k], origin);
    }
  }
  for (; i < count; ++i) add_deviation(sums[0], squared[0], values[i], origin);
  for (std::size_t k = 0; k < ways; ++k) {
    sum.add(sums[k].sum, sums[k].error);
    squares.add(squared[k].sum, squared[k].error);
  }
}

inline void sum_deviations_interleaved(const double* values, std::size_t count, std::size_t channel,
                                       const std::vector<double>& origin, compensated_sum* sum,
                                       compensated_sum* squares) {
  const std::size_t channels = origin.size();
  for (std::size_t i = 0; i < count; ++i) {
    add_deviation(sum[channel], squares[channel], values[i], origin[channel]);
    if (++channel == channels) channel = 0;
  }
}

// The same loops compiled for processors with a fused multiply-add, which TwoProd needs;
// without one, std::fma is the C library's (exact, and slower).
__attribute__((target("fma"))) void sum_deviations_fma(const double* values, std::size_t count,
                                                       double origin, compensated_sum& sum,
                                                       compensated_sum& squares) {
  sum_deviations(values, count, origin, sum, squares);
}

// compensated_sum::add, four lanes at a time.
__attribute__((target("avx2,fma"))) inline void add_lanes(__m256d& total, __m256d& error,
                                                          __m256d term, __m256d term_low) {
  const __m256d t = _mm256_add_pd(total, term);
  const __m256d z = _mm256_sub_pd(t, total);
  const __m256d lost =
      _mm256_add_pd(_mm256_sub_pd(total, _mm256_sub_pd(t, z)), _mm256_sub_pd(term, z));
  error = _mm256_add_pd(error, _mm256_add_pd(lost, term_low));
  total = t;
}

// The contiguous loop four values at a time with AVX2 and FMA: each lane a Sum2 of its own,
// the lanes added at the end.
__attribute__((target("avx2,fma"))) void sum_deviations_avx2(const double* values,
                                                             std::size_t count, double origin,
                                                             compensated_sum& sum,
                                                             compensated_sum& squares) {
  const __m256d minus_origin = _mm256_set1_pd(-origin);
  __m256d s = _mm256_setzero_pd(), s_error = s, q = s, q_error = s;
  std::size_t i = 0;
  for (; i + 4 <= count; i += 4) {
    const __m256d x = _mm256_loadu_pd(values + i);
    const __m256d e = _mm256_add_pd(x, minus_origin);
    const __m256d back = _mm256_sub_pd(e, x);
    const __m256d e_low =
        _mm256_add_pd(_mm256_sub_pd(x, _mm256_sub_pd(e, back)), _mm256_sub_pd(minus_origin, back));
    add_lanes(s, s_error, e, e_low);
    const __m256d p = _mm256_mul_pd(e, e);
    const __m256d p_low = _mm256_add_pd(
        _mm256_fmsub_pd(e, e, p), _mm256_mul_pd(e_low, _mm256_add_pd(_mm256_add_pd(e, e), e_low)));
    add_lanes(q, q_error, p, p_low);
  }
  alignas(32) double lanes[4][4];
  _mm256_store_pd(lanes[0], s);
  _mm256_store_pd(lanes[1], s_error);
  _mm256_store_pd(lanes[2], q);
  _mm256_store_pd(lanes[3], q_error);
  for (int k = 0; k < 4; ++k) {
    sum.add(lanes[0][k], lanes[1][k]);
    squares.add(lanes[2][k], lanes[3][k]);
  }
  for (; i < count; ++i) add_deviation(sum, squares, values[i], origin);
}

// Channels last, four values of four consecutive channels at a time where they do not wrap,
// each channel's sums in lanes of their own.
__attribute__((target("avx2,fma"))) void sum_deviations_interleaved_avx2(
    const double* values, std::size_t count, std::size_t channel, const std::vector<double>& origin,
    compensated_sum* sum, compensated_sum* squares) {
  const std::size_t channels = origin.size();
  if (channels == 1) {
    sum_deviations_avx2(values, count, origin[0], sum[0], squares[0]);
    return;
  }
  if (channels < 4) {
    sum_deviations_interleaved(values, count, channel, origin, sum, squares);
    return;
  }
  std::vector<double> lanes(4 * channels, 0.0);
  double* s = lanes.data();
  double* s_error = s + channels;
  double* q = s_error + channels;
  double* q_error = q + channels;
  std::size_t i = 0, c = channel;
  while (i < count) {
    if (c + 4 <= channels && i + 4 <= count) {
      const __m256d x = _mm256_loadu_pd(values + i);
      const __m256d minus_origin = _mm256_sub_pd(_mm256_setzero_pd(), _mm256_loadu_pd(&origin[c]));
      const __m256d e = _mm256_add_pd(x, minus_origin);
      const __m256d back = _mm256_sub_pd(e, x);
      const __m256d e_low = _mm256_add_pd(_mm256_sub_pd(x, _mm256_sub_pd(e, back)),
                                          _mm256_sub_pd(minus_origin, back));
      __m256d total = _mm256_loadu_pd(s + c), error = _mm256_loadu_pd(s_error + c);
      add_lanes(total, error, e, e_low);
      _mm256_storeu_pd(s + c, total);
      _mm256_storeu_pd(s_error + c, error);
      const __m256d p = _mm256_mul_pd(e, e);
      const __m256d p_low =
          _mm256_add_pd(_mm256_fmsub_pd(e, e, p),
                        _mm256_mul_pd(e_low, _mm256_add_pd(_mm256_add_pd(e, e), e_low)));
      total = _mm256_loadu_pd(q + c);
      error = _mm256_loadu_pd(q_error + c);
      add_lanes(total, error, p, p_low);
      _mm256_storeu_pd(q + c, total);
      _mm256_storeu_pd(q_error + c, error);
      i += 4;
      c += 4;
    } else {
      compensated_sum one{s[c], s_error[c]}, two{q[c], q_error[c]};
      add_deviation(one, two, values[i], origin[c]);
      s[c] = one.sum;
      s_error[c] = one.error;
      q[c] = two.sum;
      q_error[c] = two.error;
      ++i;
      ++c;
    }
    if (c == channels) c = 0;
  }
  for (std::size_t k = 0; k < channels; ++k) {
    sum[k].add(s[k], s_error[k]);
    squares[k].add(q[k], q_error[k]);
  }
}

__attribute__((target("fma"))) void sum_deviations_interleaved_fma(
    const double* values, std::size_t count, std::size_t channel, const std::vector<double>& origin,
    compensated_sum* sum, compensated_sum* squares) {
  sum_deviations_interleaved(values, count, channel, origin, sum, squares);
}

const bool have_fma = __builtin_cpu_supports("fma");
const bool have_avx2 = have_fma && __builtin_cpu_supports("avx2");

}  // namespace

moments_accumulator::moments_accumulator(std::size_t channels, bool extended)
    : moments_(channels),
      shift_(channels, 0.0),
      chunk_sum_(channels),
      chunk_m2_(channels),
      chunk_min_(channels),
      chunk_max_(channels),
      chunk_count_(channels),
      extended_(extended),
      sum_(extended ? channels : 0),
      squares_(extended ? channels : 0),
      origin_(extended ? channels : 0),
      started_(extended ? channels : 0) {}

std::vector<channel_moments> moments_accumulator::moments() const {
  std::vector<channel_moments> result = moments_;
  for (std::size_t c = 0; c < result.size(); ++c) {
    channel_moments& m = result[c];
    m.mean += shift_[c];
    if (m.count == 0) m.mean = m.m2 = nan;
    if (m.count == 0 || m.min > m.max) m.min = m.max = nan;  // nothing but NaN seen
    if (!extended_ || m.count == 0) continue;
    m.extended = true;
    if (m.nonfinite > 0 || m.m2_exponent != 0 || !std::isfinite(m.mean) || !std::isfinite(m.m2) ||
        !std::isfinite(sum_[c].hi + sum_[c].lo) ||
        !std::isfinite(squares_[c].hi + squares_[c].lo)) {
      continue;  // the double moments say what such data's moments are
    }
    // Mean and M2 from the power sums around the origin: one of the channel's values, so
    // Σ(x − origin)² exceeds M2 at most 2n + 1 times and double-double has bits to spare.
    const double n = static_cast<double>(m.count);
    const double_double relative = sum_[c] / n;
    const double_double mean = relative + origin_[c];
    double_double m2 = squares_[c] - sum_[c] * relative;
    if (!(m2.hi > 0)) m2 = {0, 0};
    m.mean = mean.hi;
    m.mean_low = mean.lo;
    m.m2 = m2.hi;
    m.m2_low = m2.lo;
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
  add_run(channel, values, count);
  if (extended_) add_extended(channel, values, count);
}

void moments_accumulator::add_two(std::size_t channel_a, const double* a, std::size_t count_a,
                                  std::size_t channel_b, const double* b, std::size_t count_b) {
  if (channel_a == channel_b || count_a == 0 || count_b == 0) {
    add(channel_a, a, count_a);
    add(channel_b, b, count_b);
    return;
  }
  // The channels differ, so neither run's measure depends on the other's merge.
  const std::size_t channel[2] = {channel_a, channel_b};
  const double* const values[2] = {a, b};
  const std::size_t count[2] = {count_a, count_b};
  const double shift[2] = {shift_[channel_a], shift_[channel_b]};
  run_result run[2];
  run_moments_two(values, count, shift, run);
  for (std::size_t r = 0; r < 2; ++r) {
    if (!run[r].fits) {
      unshift(channel[r]);
      run[r] = run_moments(values[r], count[r], 0.0);
    }
    merge_run(channel[r], run[r].moments, run[r].base);
    if (extended_) add_extended(channel[r], values[r], count[r]);
  }
}

void moments_accumulator::add_run(std::size_t channel, const double* values, std::size_t count) {
  run_result run = run_moments(values, count, shift_[channel]);
  if (!run.fits) {
    unshift(channel);
    run = run_moments(values, count, 0.0);
  }
  merge_run(channel, run.moments, run.base);
}

void moments_accumulator::add_extended(std::size_t channel, const double* values,
                                       std::size_t count) {
  if (!started_[channel]) {
    origin_[channel] = values[0];
    started_[channel] = true;
  }
  compensated_sum sum, squares;
  for (std::size_t i = 0; i < count; i += extended_fold) {
    const std::size_t n = std::min(extended_fold, count - i);
    (have_avx2  ? sum_deviations_avx2
     : have_fma ? sum_deviations_fma
                : sum_deviations)(values + i, n, origin_[channel], sum, squares);
    sum_[channel] = sum_[channel] + sum.value();
    squares_[channel] = squares_[channel] + squares.value();
    sum = squares = compensated_sum{};
  }
}

void moments_accumulator::add_extended_interleaved(std::size_t channel, const double* values,
                                                   std::size_t count) {
  // A chunk is cache-sized (at most a few ten thousand values), so one fold per chunk.
  const std::size_t channels = moments_.size();
  for (std::size_t i = 0, c = channel; i < std::min(count, channels); ++i) {
    if (!started_[c]) {
      origin_[c] = values[i];
      started_[c] = true;
    }
    if (++c == channels) c = 0;
  }
  std::vector<compensated_sum> sum(channels), squares(channels);
  (have_avx2 ? sum_deviations_interleaved_avx2
   : have_fma
       ? sum_deviations_interleaved_fma
       : sum_deviations_interleaved)(values, count, channel, origin_, sum.data(), squares.data());
  for (std::size_t k = 0; k < channels; ++k) {
    sum_[k] = sum_[k] + sum[k].value();
    squares_[k] = squares_[k] + squares[k].value();
  }
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
  if (extended_) add_extended_interleaved(channel, values, count);
}

void moments_accumulator::add_strided(std::size_t channel, const double* first, std::size_t count,
                                      std::size_t stride) {
  strided_.resize(count);
  for (std::size_t i = 0; i < count; ++i) strided_[i] = first[i * stride];
  // The double moments only: add_interleaved adds the whole chunk to the extended sums.
  add_run(channel, strided_.data(), count);
}

}  // namespace bnorm
