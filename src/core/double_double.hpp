// SPDX-License-Identifier: Apache-2.0
// Double-double arithmetic: a number carried as an unevaluated sum hi + lo of two doubles
// (|lo| ≤ ulp(hi)/2), about 106 significant bits, built on the error-free transformations
// TwoSum, FastTwoSum and TwoProd (with a fused multiply-add).  Float64 statistics and output
// use it where double alone would lose the digits a large offset leaves (Dekker 1971;
// Joldes, Muller & Popescu, "Tight and rigorous error bounds for basic building blocks of
// double-word arithmetic", 2017: the algorithms below are theirs, with their bounds).
#pragma once

#include <cmath>

namespace bnorm {

struct double_double {
  double hi = 0;
  double lo = 0;
};

/// a + b exactly, as the rounded sum and its error (Knuth's TwoSum: any order of magnitude).
inline double_double two_sum(double a, double b) {
  const double s = a + b;
  const double bb = s - a;
  return {s, (a - (s - bb)) + (b - bb)};
}

/// a + b exactly when |a| ≥ |b| (or a is 0): Dekker's FastTwoSum, three operations.
inline double_double fast_two_sum(double a, double b) {
  const double s = a + b;
  return {s, b - (s - a)};
}

/// a·b exactly, as the rounded product and its error (one fused multiply-add).
inline double_double two_prod(double a, double b) {
  const double p = a * b;
  return {p, std::fma(a, b, -p)};
}

/// x + y, relative error below 3·2^-106 (Joldes et al., Algorithm 6).
inline double_double operator+(double_double x, double_double y) {
  const double_double s = two_sum(x.hi, y.hi);
  const double_double t = two_sum(x.lo, y.lo);
  const double_double u = fast_two_sum(s.hi, s.lo + t.hi);
  return fast_two_sum(u.hi, t.lo + u.lo);
}

/// x + b for a double b, relative error below 2·2^-106 (Algorithm 4).
inline double_double operator+(double_double x, double b) {
  const double_double s = two_sum(x.hi, b);
  return fast_two_sum(s.hi, x.lo + s.lo);
}

inline double_double operator-(double_double x) {
  return {-x.hi, -x.lo};
}
inline double_double operator-(double_double x, double_double y) {
  return x + (-y);
}

/// x·b for a double b, relative error below 2·2^-106 (Algorithm 9).
inline double_double operator*(double_double x, double b) {
  const double_double c = two_prod(x.hi, b);
  return fast_two_sum(c.hi, std::fma(x.lo, b, c.lo));
}

/// x·y, relative error below 5·2^-106 (Algorithm 12).
inline double_double operator*(double_double x, double_double y) {
  const double_double c = two_prod(x.hi, y.hi);
  const double low = std::fma(x.lo, y.hi, x.hi * y.lo);
  return fast_two_sum(c.hi, c.lo + low);
}

/// x / b for a double b, relative error below 3·2^-106 (Algorithm 15).
inline double_double operator/(double_double x, double b) {
  const double q = x.hi / b;
  const double_double p = two_prod(q, b);
  const double d = ((x.hi - p.hi) - p.lo) + x.lo;
  return fast_two_sum(q, d / b);
}

/// x / y, relative error below 15·2^-106 (Algorithm 17).
inline double_double operator/(double_double x, double_double y) {
  const double q = x.hi / y.hi;
  const double_double r = x - y * q;
  return fast_two_sum(q, r.hi / y.hi);
}

/// 1/√x for x > 0, from the double estimate by one Newton step carried in double-double:
/// r + r·(1 − x·r²)/2, with the residual 1 − x·r² (about 2^-53) itself to double-double
/// accuracy, so the result is good to a few units of 2^-106.  ±0, NaN, ±Inf and negative x
/// give the double estimate 1/√x as it is.
inline double_double inverse_sqrt(double_double x) {
  const double r = 1 / std::sqrt(x.hi);
  if (!(x.hi > 0) || !std::isfinite(x.hi) || !std::isfinite(r) || r == 0) return {r, 0};
  const double_double residual = double_double{1, 0} - (x * two_prod(r, r));
  return fast_two_sum(r, r * (residual.hi / 2));
}

/// A sum of many terms, each given exactly as hi + lo, that keeps the error of every addition
/// (Ogita, Rump & Oishi's Sum2): the result is as accurate as if summed in twice the working
/// precision, |error| ≤ 2^-53·|Σ| + (n·2^-53)²·Σ|term|.  Fold it into a double_double every
/// few ten thousand terms to keep n small.
struct compensated_sum {
  double sum = 0;
  double error = 0;

  void add(double hi, double lo) {
    const double_double s = two_sum(sum, hi);
    sum = s.hi;
    error += s.lo + lo;
  }
  double_double value() const { return two_sum(sum, error); }
};

/// The double nearest hi + lo, when the pair is normalized (|lo| ≤ ulp(hi)/2).
inline double to_double(double_double x) {
  return x.hi + x.lo;
}

}  // namespace bnorm
