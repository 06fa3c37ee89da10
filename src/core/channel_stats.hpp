// Per-channel moments accumulated without cancellation, mergeable across blocks and threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

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

  /// Biased (population) variance, M2/n: what normalization divides by.
  double var() const;
  /// Unbiased (sample) variance, M2/(n−1): what PyTorch feeds running_var.  NaN for n < 2.
  double var_unbiased() const;
};

/// Chan, Golub and LeVeque's pairwise combination: exact in any order and grouping.
channel_moments merge(const channel_moments& a, const channel_moments& b);

/// Accumulates runs of values per channel.  Each channel's sums are taken around a shift (its
/// first finite value) in double, so data such as 1e4 + 0.01·N(0,1) in float32 keep their
/// variance: |shift − mean|² ≤ M2, which bounds the cancellation whatever the offset.
class moments_accumulator {
 public:
  explicit moments_accumulator(std::size_t channels);

  /// Adds `count` values of `channel`.
  void add(std::size_t channel, const double* values, std::size_t count);

  /// Adds `count` values whose channels cycle: the first is of `channel`, the next of
  /// channel + 1, wrapping after the last channel (channels-last data, one value per run).
  void add_interleaved(std::size_t channel, const double* values, std::size_t count);

  std::size_t channels() const { return sums_.size(); }

  /// The moments of everything added so far.
  std::vector<channel_moments> moments() const;

 private:
  struct sums {
    bool shifted = false;
    double shift = 0;
    double s1 = 0;  // Σ(x − shift)
    double s2 = 0;  // Σ(x − shift)²
    double min;
    double max;
    std::uint64_t count = 0;
    std::uint64_t nonfinite = 0;
  };
  std::vector<sums> sums_;
};

}  // namespace bnorm
