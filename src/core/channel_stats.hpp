// SPDX-License-Identifier: Apache-2.0
// Per-channel moments accumulated without cancellation, mergeable across blocks and threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "double_double.hpp"

namespace bnorm {

/// Count, mean and sum of squared deviations (M2) of one channel, with its extremes and how
/// many of its values were NaN or ±Inf.  NaN and ±Inf enter the moments as PyTorch lets them
/// (a NaN makes the mean NaN); min and max skip NaN.
struct channel_moments {
  std::uint64_t count = 0;
  double mean = 0;
  double m2 = 0;
  double min = 0;
  double max = 0;
  std::uint64_t nonfinite = 0;
  /// M2 is m2·2^m2_exponent.  0 but where M2 itself exceeds double's range while the variance
  /// does not (float64 values whose spread is beyond about 1e154): then m2_scale.
  int m2_exponent = 0;
  /// Float64 data's moments carry a low part: the mean is mean + mean_low and M2 is
  /// m2 + m2_low, to double-double precision, so that a channel whose offset dwarfs its
  /// spread keeps every digit of its mean and variance.  Merging keeps them.
  bool extended = false;
  double mean_low = 0;
  double m2_low = 0;

  /// Biased (population) variance, M2/n: what normalization divides by.
  double var() const;
  /// Unbiased (sample) variance, M2/(n−1): what PyTorch feeds running_var.  NaN for n < 2.
  double var_unbiased() const;
};

/// The m2_exponent of an M2 scaled down to fit: 2^64 values of variance at most DBL_MAX.
constexpr int m2_scale = 64;

/// Chan, Golub and LeVeque's pairwise combination: exact in any order and grouping.
channel_moments merge(const channel_moments& a, const channel_moments& b);

/// Accumulates runs of values per channel.  Each run (a cache-resident piece of one channel)
/// is measured with the two-pass algorithm — its mean first, then the squared deviations from
/// that mean — around the mean of the channel's first run, and merged into the channel with
/// Chan's update.  Both steps are exact to a few ulps whatever the data's offset or outliers,
/// so 1e4 + 0.01·N(0,1) in float32 keeps its variance, as does a channel whose first value is
/// far from the rest.
class moments_accumulator {
 public:
  /// `extended`: also carry each channel's sums in double-double (float64 data), so that
  /// moments() gives the mean and M2 with their low parts.
  explicit moments_accumulator(std::size_t channels, bool extended = false);

  /// Adds `count` values of `channel`.
  void add(std::size_t channel, const double* values, std::size_t count);

  /// add(a…) then add(b…), the two runs measured side by side where their channels differ
  /// (the same moments, sooner).
  void add_two(std::size_t channel_a, const double* a, std::size_t count_a, std::size_t channel_b,
               const double* b, std::size_t count_b);

  /// Adds `count` values whose channels cycle: the first is of `channel`, the next of
  /// channel + 1, wrapping after the last channel (channels-last data, one value per run).
  void add_interleaved(std::size_t channel, const double* values, std::size_t count);

  std::size_t channels() const { return moments_.size(); }

  /// The moments of everything added so far (a channel with nothing, or only NaN, has NaN
  /// extremes; one with nothing has a NaN mean).
  std::vector<channel_moments> moments() const;

 private:
  // Merges a run whose mean is base + run.mean, relative to the channel's shift.
  void merge_run(std::size_t channel, channel_moments run, double base);
  // Moves the channel's shift into its mean, for values too far from the shift to be
  // measured around it (finite values of both signs near ±1.8e308).
  void unshift(std::size_t channel);
  // Adds one run to the channel's double moments (add() also adds it to the extended sums).
  void add_run(std::size_t channel, const double* values, std::size_t count);
  // Adds `count` values of `channel` that lie `stride` apart from `first`, as one run.
  void add_strided(std::size_t channel, const double* first, std::size_t count, std::size_t stride);
  // Adds Σ(x − shift) and Σ(x − shift)² of a run to the channel's double-double sums.
  void add_extended(std::size_t channel, const double* values, std::size_t count);
  void add_extended_interleaved(std::size_t channel, const double* values, std::size_t count);

  std::vector<channel_moments> moments_;  // of x − shift_, per channel
  std::vector<double> shift_;             // the mean of each channel's first run
  // Scratch for add_interleaved: per-channel sums of one chunk.
  std::vector<double> chunk_sum_, chunk_m2_, chunk_min_, chunk_max_;
  std::vector<std::uint64_t> chunk_count_;
  std::vector<double> strided_;  // scratch for add_strided
  bool extended_ = false;
  // With extended_: per channel, Σ(x − origin) and Σ(x − origin)² to double-double
  // precision, around the channel's first value (set once `started_`).
  std::vector<double_double> sum_, squares_;
  std::vector<double> origin_;
  std::vector<bool> started_;
};

}  // namespace bnorm
