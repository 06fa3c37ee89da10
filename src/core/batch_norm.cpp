// SPDX-License-Identifier: Apache-2.0
#include "batch_norm.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <immintrin.h>
#include <xsimd/xsimd.hpp>

#include "count_text.hpp"
#include "double_double.hpp"
#include "error.hpp"
#include "number_format.hpp"
#include "passes.hpp"

namespace bnorm {
namespace {

// Per channel, y = (x − center) · scale + offset, all in double.  Subtracting the center
// before scaling keeps full precision when |mean| ≫ std, and gives exactly β for a channel
// whose values all equal its mean.  For float64 data (`exact`), center and scale also have
// low parts, center + center_low and scale + scale_low being the mean and γ/√(var + eps) to
// double-double precision: y is then within an ulp of its exact value.
struct channel_transform {
  std::vector<double> center, scale, offset;
  bool exact = false;
  std::vector<double> center_low = {}, scale_low = {};
};

// x·scale + (offset − center·scale), with center 0: how PyTorch's CPU kernel and Keras
// compute y, which differs from the centred form only when the scale is infinite.
void fold_mean_into_shift(channel_transform& t, std::size_t c) {
  t.offset[c] -= t.center[c] * t.scale[c];
  t.center[c] = 0;
}

// With the double-double mean and variance of float64 data, the low parts of center and
// scale.  A scale that is 0 or not finite (no such data has a spread to keep) stays as it is.
void refine_transform(const bn_plan& plan, const std::vector<channel_moments>& batch, std::size_t c,
                      channel_transform& t) {
  if (!std::isfinite(t.scale[c]) || t.scale[c] == 0 || !std::isfinite(t.center[c])) return;
  // The running statistics only where they normalize: with virtual batches, c counts virtual
  // channels, past the end of running_mean.
  double_double mean, var;
  if (plan.normalize_with_batch_stats) {
    const channel_moments& m = batch[c];
    if (m.m2_exponent != 0) return;  // M2 past double's range: no double-double to refine
    mean = {m.mean, m.mean_low};
    var = double_double{m.m2, m.m2_low} / static_cast<double>(m.count);
  } else {
    mean = {plan.state.running_mean[c], 0};
    var = {plan.state.running_var[c], 0};
  }
  const double_double scale = inverse_sqrt(var + plan.config.eps) * plan.state.weight[c];
  if (!std::isfinite(scale.hi) || scale.hi == 0) return;
  t.center[c] = mean.hi;
  t.center_low[c] = mean.lo;
  t.scale[c] = scale.hi;
  t.scale_low[c] = scale.lo;
}

channel_transform make_transform(const bn_plan& plan, const std::vector<channel_moments>& batch) {
  const std::size_t channels = plan.layout.channels;
  channel_transform t{std::vector<double>(channels), std::vector<double>(channels),
                      std::vector<double>(channels)};
  if (wants_extended_moments(plan.input)) {
    t.exact = true;
    t.center_low.assign(channels, 0.0);
    t.scale_low.assign(channels, 0.0);
  }
  for (std::size_t c = 0; c < channels; ++c) {
    const bool use_batch = plan.normalize_with_batch_stats;
    const double mean = use_batch ? batch[c].mean : plan.state.running_mean[c];
    const double var = use_batch ? batch[c].var() : plan.state.running_var[c];
    const double invstd =
        use_batch ? batch_inverse_std(plan.config, batch[c]) : inverse_std(plan.config, false, var);
    t.center[c] = mean;
    t.scale[c] = invstd * plan.state.weight[c];
    t.offset[c] = plan.state.bias[c];
    if (std::isinf(invstd) && plan.config.conv->folds_mean_into_shift) {
      fold_mean_into_shift(t, c);
    } else if (t.exact) {
      refine_transform(plan, batch, c, t);
    }
  }
  return t;
}

// Calls fn(channel, first, count) for each run of one channel's values in a chunk that
// starts at file position `position`.
template <typename Fn>
void for_each_run(const channel_layout& layout, std::size_t position, std::size_t count, Fn&& fn) {
  std::size_t i = 0;
  while (i < count) {
    const std::size_t p = position + i;
    const std::size_t run = std::min(layout.inner - p % layout.inner, count - i);
    fn(layout.channel_at(p), i, run);
    i += run;
  }
}

// y = (x − center)·scale + offset for one channel's run, in place, with SIMD.
void normalize_run(double* x, std::size_t n, double center, double scale, double offset) {
  using batch = xsimd::batch<double>;
  const batch c(center), s(scale), o(offset);
  std::size_t i = 0;
  for (; i + batch::size <= n; i += batch::size) {
    ((batch::load_unaligned(x + i) - c) * s + o).store_unaligned(x + i);
  }
  for (; i < n; ++i) x[i] = (x[i] - center) * scale + offset;
}

// y = (x − center)·scale + offset with center and scale in double-double: x − center exactly
// (TwoSum), the product to double-double (TwoProd), and offset added by TwoSum, so that only
// the last addition rounds.  Where that gives no finite y (±Inf or NaN about), the plain
// formula gives what it gives.
inline double normalized_exactly(double x, double center, double center_low, double scale,
                                 double scale_low, double offset) {
  const double_double d = two_sum(x, -center);
  const double d_low = d.lo - center_low;
  const double p = d.hi * scale;
  const double p_low = std::fma(d.hi, scale_low, std::fma(d_low, scale, std::fma(d.hi, scale, -p)));
  const double_double q = two_sum(p, offset);
  const double y = q.hi + (q.lo + p_low);
  return std::isfinite(y) ? y : (x - center) * scale + offset;
}

inline void normalize_exactly(double* x, std::size_t n, std::size_t channel,
                              const channel_transform& t, std::size_t channels) {
  if (channels == 0) {  // one channel's run: its constants hoisted, so the loop vectorizes
    const double center = t.center[channel], center_low = t.center_low[channel];
    const double scale = t.scale[channel], scale_low = t.scale_low[channel];
    const double offset = t.offset[channel];
    for (std::size_t i = 0; i < n; ++i) {
      x[i] = normalized_exactly(x[i], center, center_low, scale, scale_low, offset);
    }
    return;
  }
  std::size_t c = channel;
  for (std::size_t i = 0; i < n; ++i) {
    x[i] = normalized_exactly(x[i], t.center[c], t.center_low[c], t.scale[c], t.scale_low[c],
                              t.offset[c]);
    if (++c == channels) c = 0;
  }
}

// The same loop compiled for processors with a fused multiply-add, which TwoProd needs.
__attribute__((target("fma"))) void normalize_exactly_fma(double* x, std::size_t n,
                                                          std::size_t channel,
                                                          const channel_transform& t,
                                                          std::size_t channels) {
  normalize_exactly(x, n, channel, t, channels);
}

// normalized_exactly() four values at a time, with AVX2 and FMA.
__attribute__((target("avx2,fma"))) inline __m256d normalized_exactly_avx2(
    __m256d x, __m256d center, __m256d center_low, __m256d scale, __m256d scale_low,
    __m256d offset) {
  const __m256d d = _mm256_sub_pd(x, center);
  const __m256d back = _mm256_sub_pd(d, x);
  const __m256d d_error =
      _mm256_sub_pd(_mm256_sub_pd(x, _mm256_sub_pd(d, back)), _mm256_add_pd(center, back));
  const __m256d d_low = _mm256_sub_pd(d_error, center_low);
  const __m256d p = _mm256_mul_pd(d, scale);
  const __m256d p_low =
      _mm256_fmadd_pd(d, scale_low, _mm256_fmadd_pd(d_low, scale, _mm256_fmsub_pd(d, scale, p)));
  const __m256d q = _mm256_add_pd(p, offset);
  const __m256d q_back = _mm256_sub_pd(q, p);
  const __m256d q_low =
      _mm256_add_pd(_mm256_sub_pd(p, _mm256_sub_pd(q, q_back)), _mm256_sub_pd(offset, q_back));
  const __m256d y = _mm256_add_pd(q, _mm256_add_pd(q_low, p_low));
  const __m256d plain = _mm256_add_pd(_mm256_mul_pd(d, scale), offset);
  const __m256d finite = _mm256_cmp_pd(_mm256_sub_pd(y, y), _mm256_setzero_pd(), _CMP_EQ_OQ);
  return _mm256_blendv_pd(plain, y, finite);
}

__attribute__((target("avx2,fma"))) void normalize_exactly_avx2(double* x, std::size_t n,
                                                                std::size_t channel,
                                                                const channel_transform& t,
                                                                std::size_t channels) {
  std::size_t i = 0;
  if (channels == 0) {
    const __m256d center = _mm256_set1_pd(t.center[channel]);
    const __m256d center_low = _mm256_set1_pd(t.center_low[channel]);
    const __m256d scale = _mm256_set1_pd(t.scale[channel]);
    const __m256d scale_low = _mm256_set1_pd(t.scale_low[channel]);
    const __m256d offset = _mm256_set1_pd(t.offset[channel]);
    for (; i + 4 <= n; i += 4) {
      const __m256d y = normalized_exactly_avx2(_mm256_loadu_pd(x + i), center, center_low, scale,
                                                scale_low, offset);
      _mm256_storeu_pd(x + i, y);
    }
    normalize_exactly(x + i, n - i, channel, t, 0);
    return;
  }
  // Channels last: four values of four consecutive channels, where they do not wrap.
  std::size_t c = channel;
  while (i < n) {
    if (c + 4 <= channels && i + 4 <= n) {
      const __m256d y =
          normalized_exactly_avx2(_mm256_loadu_pd(x + i), _mm256_loadu_pd(&t.center[c]),
                                  _mm256_loadu_pd(&t.center_low[c]), _mm256_loadu_pd(&t.scale[c]),
                                  _mm256_loadu_pd(&t.scale_low[c]), _mm256_loadu_pd(&t.offset[c]));
      _mm256_storeu_pd(x + i, y);
      i += 4;
      c += 4;
    } else {
      x[i] = normalized_exactly(x[i], t.center[c], t.center_low[c], t.scale[c], t.scale_low[c],
                                t.offset[c]);
      ++i;
      ++c;
    }
    if (c == channels) c = 0;
  }
}

// Normalizes n values from `channel` on: all of that channel (channels == 0), or cycling
// through `channels` channels (channels-last data).
void normalize_values(const channel_transform& t, std::size_t channel, double* x, std::size_t n,
                      std::size_t channels = 0) {
  if (t.exact) {
    static const bool have_fma = __builtin_cpu_supports("fma");
    static const bool have_avx2 = have_fma && __builtin_cpu_supports("avx2");
    (have_avx2  ? normalize_exactly_avx2
     : have_fma ? normalize_exactly_fma
                : normalize_exactly)(x, n, channel, t, channels);
  } else {
    normalize_run(x, n, t.center[channel], t.scale[channel], t.offset[channel]);
  }
}

// y = (x − center)·scale + offset for a chunk, in place.
void normalize(const channel_layout& layout, const channel_transform& t, std::size_t position,
               double* x, std::size_t count) {
  if (layout.inner == 1 && t.exact) {
    normalize_values(t, layout.channel_at(position), x, count, layout.channels);
    return;
  }
  if (layout.inner == 1) {
    std::size_t c = layout.channel_at(position);
    for (std::size_t i = 0; i < count; ++i) {
      x[i] = (x[i] - t.center[c]) * t.scale[c] + t.offset[c];
      if (++c == layout.channels) c = 0;
    }
    return;
  }
  for_each_run(layout, position, count, [&](std::size_t c, std::size_t first, std::size_t n) {
    normalize_values(t, c, x + first, n);
  });
}

void check_length(const std::vector<double>& values, const char* key, std::size_t channels,
                  const std::string& state_name) {
  if (!values.empty() && values.size() != channels) {
    throw data_error(state_name + ": " + key + " has " + count_text(values.size(), "value") +
                     ", but the input has " + count_text(channels, "channel"));
  }
}

// Running statistics are a mean and a variance of finite batches: NaN, an infinity or a
// negative variance is not a state (PyTorch would take it and normalize to NaN or β).
void check_running_statistics(const bn_state& state, const std::string& state_name) {
  const auto check = [&](const std::vector<double>& values, const char* key, bool variance) {
    for (std::size_t c = 0; c < values.size(); ++c) {
      const double v = values[c];
      const char* what = std::isnan(v)       ? "NaN"
                         : std::isinf(v)     ? "infinite"
                         : variance && v < 0 ? "negative"
                                             : nullptr;
      if (what) {
        throw data_error(state_name + ": " + key + "[" + std::to_string(c) + "] is " + what + " (" +
                         format_number(v, dtype::float64()) + ")");
      }
    }
  };
  check(state.running_mean, "running_mean", false);
  check(state.running_var, "running_var", true);
}

void fill_default(std::vector<double>& values, std::size_t channels, double value) {
  if (values.empty()) values.assign(channels, value);
}

}  // namespace

double inverse_std(const bn_config& config, bool batch_statistics, double var) {
  const double var_eps = var + config.eps;
  if (var_eps == 0 && batch_statistics && config.conv->zero_variance_invstd_is_zero) return 0;
  return 1.0 / std::sqrt(var_eps);
}

double batch_inverse_std(const bn_config& config, const channel_moments& m) {
  if (m.m2_exponent == 0) return inverse_std(config, true, m.var());
  // M2 = m2·2^e, e even: 1/√(M2/n + eps) = 2^(−e/2)/√(m2/n + eps·2^−e).
  const int e = m.m2_exponent;
  const double scaled_var_eps = m.m2 / static_cast<double>(m.count) + std::ldexp(config.eps, -e);
  return std::ldexp(1.0 / std::sqrt(scaled_var_eps), -e / 2);
}

bn_config default_config(const convention& conv) {
  bn_config config;
  config.conv = &conv;
  config.eps = conv.eps;
  config.momentum = conv.momentum;
  config.axis = conv.axis;
  config.affine = conv.affine;
  return config;
}

namespace {

void use_whole_batch(bn_plan& plan, std::vector<channel_moments> whole_batch,
                     const std::string& name) {
  if (!plan.normalize_with_batch_stats) {
    throw usage_error(fault::whole_batch_in_eval, "", "whole-batch statistics are given",
                      ", which eval mode does not use");
  }
  if (whole_batch.size() != plan.layout.channels) {
    throw data_error(name + ": " + count_text(whole_batch.size(), "channel") +
                     ", but the input has " + std::to_string(plan.layout.channels));
  }
  for (const channel_moments& m : whole_batch) {
    if (m.count == 0) throw data_error(name + ": a channel has no values");
    if (m.count == 1 && plan.config.conv->single_value_is_error) {
      throw data_error(name + ": Expected more than 1 value per channel when training");
    }
  }
  plan.whole_batch = std::move(whole_batch);
}

}  // namespace

channel_layout batch_layout(const tensor_info& input, long long axis,
                            const std::string& input_name) {
  const auto fail = [&](const std::string& what) { throw data_error(input_name + ": " + what); };
  if (input.shape.size() < 2) {
    fail("a batch needs at least 2 dimensions (batch and channel), got shape " +
         shape_to_string(input.shape));
  }
  channel_layout layout;
  try {
    layout = make_layout(input, axis);
  } catch (const data_error& e) {
    fail(e.what());
  }
  // PyTorch fails on a batch without channels with an index error; nothing is normalized.
  if (layout.channels == 0) {
    fail("no channels: the channel axis " + std::to_string(layout.axis) + " of shape " +
         shape_to_string(input.shape) + " has size 0");
  }
  // Every per-channel vector is as long as the channel axis.  A batch with values bounds that
  // by its data; an empty one only by its header, whose few bytes may claim (0, 10^10).
  if (input.element_count() == 0 && layout.channels > max_empty_batch_channels) {
    fail("an empty batch of " + count_text(layout.channels, "channel") + ", shape " +
         shape_to_string(input.shape) + ": more than the " +
         std::to_string(max_empty_batch_channels) + " an empty batch may have");
  }
  return layout;
}

bn_plan plan_batch_norm(const tensor_info& input, const bn_config& config, bn_state state,
                        bool want_batch_stats, const std::string& input_name,
                        const std::string& state_name,
                        const std::vector<channel_moments>* whole_batch,
                        const std::string& whole_batch_name) {
  bn_plan plan;
  plan.config = config;
  plan.input = input;
  const bool tracked = config.track_running_stats;
  if (config.mode == bn_mode::eval && tracked &&
      (state.running_mean.empty() || state.running_var.empty())) {
    throw usage_error(fault::running_statistics_missing,
                      "eval mode normalizes with running_mean and running_var",
                      ", and the state has none");
  }
  const auto fail = [&](const std::string& what) { throw data_error(input_name + ": " + what); };
  plan.layout = batch_layout(input, config.axis, input_name);
  const convention& conv = *config.conv;
  if (input.shape.size() < conv.min_rank || input.shape.size() > conv.max_rank) {
    fail("the " + std::string(conv.name) + " convention takes " + std::to_string(conv.min_rank) +
         "-D to " + std::to_string(conv.max_rank) + "-D input, not shape " +
         shape_to_string(input.shape));
  }
  // TF's fused kernel raises a smaller eps to cuDNN's minimum; so does its convention here.
  plan.config.eps = std::max(config.eps, conv.min_eps);
  if (const std::size_t k = config.virtual_batch_size; k > 0) {
    if (plan.layout.axis == 0) fail("virtual batches split axis 0, which is the channel axis");
    if (input.fortran_order) fail("virtual batches need C-order data (this file is Fortran)");
    // tf.keras reshapes the batch to (k, N/k, ...), which fails unless k divides N.
    if (input.shape[0] % k != 0) {
      fail("a batch of " + count_text(input.shape[0], "sample") + " does not split into " +
           "virtual batches of " + std::to_string(k) + " (the virtual batch size must divide " +
           "the batch size, as in tf.keras)");
    }
  }
  const bool empty_batch = input.element_count() == 0;
  if (empty_batch && config.mode == bn_mode::train && config.track_running_stats &&
      !conv.empty_batch_keeps_running_stats && !whole_batch) {
    fail("an empty batch, shape " + shape_to_string(input.shape) + ", has no statistics; the " +
         std::string(conv.name) + " convention would make the running statistics NaN " +
         "(torch leaves them as they were)");
  }

  const std::size_t channels = plan.layout.channels;
  check_length(state.weight, "weight", channels, state_name);
  check_length(state.bias, "bias", channels, state_name);
  check_length(state.running_mean, "running_mean", channels, state_name);
  check_length(state.running_var, "running_var", channels, state_name);
  check_running_statistics(state, state_name);
  if (state.num_batches_tracked < 0) {
    throw data_error(state_name + ": num_batches_tracked is negative");
  }
  if (state.num_batches_tracked == std::numeric_limits<std::int64_t>::max() &&
      config.mode == bn_mode::train && config.track_running_stats) {
    throw data_error(state_name + ": num_batches_tracked cannot count another batch");
  }
  if (!config.affine) {
    // Without affine parameters the layer has none; whatever a state file holds is unused.
    state.weight.assign(channels, 1.0);
    state.bias.assign(channels, 0.0);
  }
  fill_default(state.weight, channels, 1.0);
  fill_default(state.bias, channels, 0.0);
  if (tracked) {
    fill_default(state.running_mean, channels, 0.0);
    fill_default(state.running_var, channels, 1.0);
  } else {
    state.running_mean.clear();
    state.running_var.clear();
  }

  plan.normalize_with_batch_stats = config.mode == bn_mode::train || !tracked;
  plan.collect_batch_stats = plan.normalize_with_batch_stats || want_batch_stats;
  if (whole_batch) {
    use_whole_batch(plan, *whole_batch, whole_batch_name);
  } else if (plan.normalize_with_batch_stats && config.conv->single_value_is_error &&
             !empty_batch &&
             plan.layout.count_per_channel() /
                     (config.virtual_batch_size ? input.shape[0] / config.virtual_batch_size : 1) ==
                 1) {
    // PyTorch's own words, so that users searching for them find the cause.
    fail("Expected more than 1 value per channel when training, got input size " +
         shape_to_string(input.shape) + " (the " + std::string(config.conv->name) +
         " convention refuses this; keras and onnx give var 0)");
  }
  plan.state = std::move(state);
  return plan;
}

namespace {

// The batch variance a convention feeds to running_var.
double fed_variance(const bn_config& config, const channel_moments& m) {
  switch (config.conv->fed_variance) {
    case running_variance::unbiased:
      return m.var_unbiased();
    case running_variance::unbiased_guarded:
      return m.count > 1 ? m.var_unbiased() : m.var();
    case running_variance::biased:
      break;
  }
  return m.var();
}

}  // namespace

bn_state update_running_stats(const bn_config& config, const bn_state& state,
                              const std::vector<channel_moments>& batch) {
  bn_state next = state;
  if (!config.track_running_stats || config.mode != bn_mode::train) return next;
  ++next.num_batches_tracked;
  // PyTorch counts an empty batch in num_batches_tracked and leaves the statistics alone.
  const bool empty = std::all_of(batch.begin(), batch.end(),
                                 [](const channel_moments& m) { return m.count == 0; });
  if (empty && config.conv->empty_batch_keeps_running_stats) return next;
  // Each convention's own arithmetic, so the results match the framework to the last bit
  // that double allows: PyTorch weights the batch by m, Keras and ONNX weight the old value.
  double old_weight, new_weight;
  if (!config.momentum) {
    new_weight = 1.0 / static_cast<double>(next.num_batches_tracked);
    old_weight = 1.0 - new_weight;
  } else if (config.conv->meaning == momentum_meaning::new_batch_weight) {
    new_weight = *config.momentum;
    old_weight = 1.0 - *config.momentum;
  } else if (config.conv->meaning == momentum_meaning::caffe_fraction) {
    // Caffe keeps Σ m^k·batch_(t−k) and the scale factor s_t = Σ m^k = (1 − m^t)/(1 − m), and
    // divides one by the other: in normalized form the new batch weighs 1/s_t.
    const double m = *config.momentum;
    const auto t = static_cast<double>(next.num_batches_tracked);
    const double scale = m == 1 ? t : (1 - std::pow(m, t)) / (1 - m);
    new_weight = 1 / scale;
    old_weight = 1 - new_weight;
  } else {
    old_weight = *config.momentum;
    new_weight = 1.0 - *config.momentum;
  }
  // With virtual batches, `batch` holds every virtual batch's moments, channel-minor; the
  // running statistics take their average, once (as Keras does).
  const std::size_t channels = state.running_mean.size();
  const std::size_t groups = batch.size() / channels;
  for (std::size_t c = 0; c < channels; ++c) {
    double mean = 0, var = 0;
    for (std::size_t g = 0; g < groups; ++g) {
      const channel_moments& m = batch[g * channels + c];
      mean += m.mean / static_cast<double>(groups);
      var += fed_variance(config, m) / static_cast<double>(groups);
    }
    next.running_mean[c] = old_weight * state.running_mean[c] + new_weight * mean;
    next.running_var[c] = old_weight * state.running_var[c] + new_weight * var;
  }
  return next;
}

namespace {

// Ghost batch normalization as tf.keras's virtual_batch_size: the batch is reshaped to
// (k, N/k, ...) and reduced over the first axis, so virtual batch g holds the k samples
// g, g + N/k, g + 2N/k, ... (strided, not contiguous).  Each is normalized with its own
// statistics, kept per "virtual channel" g·C + c.
bn_result run_virtual_batches(const bn_plan& plan, const tensor_source& input,
                              tensor_sink& output) {
  const channel_layout& layout = plan.layout;
  const std::size_t channels = layout.channels;
  const std::size_t sample_values = layout.element_count() / plan.input.shape[0];
  const std::size_t groups = plan.input.shape[0] / plan.config.virtual_batch_size;
  const auto for_each_virtual_run = [&](std::size_t p, std::size_t n, auto&& fn) {
    for_each_run(layout, p, n, [&](std::size_t c, std::size_t first, std::size_t count) {
      // Runs stay in a sample; sample s is in virtual batch s mod (N/k).
      fn((p + first) / sample_values % groups * channels + c, first, count);
    });
  };
  grouped_moments moments(pass_group_count(layout.element_count()), groups * channels,
                          wants_extended_moments(plan.input));
  stream_groups(input, true, [&](std::size_t g, std::size_t p, double* x, std::size_t n) {
    for_each_virtual_run(p, n, [&](std::size_t v, std::size_t first, std::size_t count) {
      moments.group(g).add(v, x + first, count);
    });
  });
  const std::vector<channel_moments> virtual_batches = moments.merged();

  bn_plan per_virtual = plan;  // the transform, with one "channel" per virtual channel
  per_virtual.layout.channels = groups * channels;
  for (auto* v : {&per_virtual.state.weight, &per_virtual.state.bias}) {
    std::vector<double> repeated;
    for (std::size_t g = 0; g < groups; ++g) repeated.insert(repeated.end(), v->begin(), v->end());
    *v = std::move(repeated);
  }
  const channel_transform t = make_transform(per_virtual, virtual_batches);
  stream_groups(
      input, output.parallel(), [&](std::size_t, std::size_t p, double* x, std::size_t n) {
        for_each_virtual_run(p, n, [&](std::size_t v, std::size_t first, std::size_t count) {
          normalize_values(t, v, x + first, count);
        });
        output.write_at(p, std::span<const double>(x, n));
      });
  output.finish();

  bn_result result;
  result.batch.resize(channels);  // the whole batch, for inspection
  for (std::size_t g = 0; g < groups; ++g) {
    for (std::size_t c = 0; c < channels; ++c) {
      result.batch[c] = merge(result.batch[c], virtual_batches[g * channels + c]);
    }
  }
  result.state = update_running_stats(plan.config, plan.state, virtual_batches);
  return result;
}

}  // namespace

bn_result run_batch_norm(const bn_plan& plan, const tensor_source& input, tensor_sink& output) {
  const channel_layout& layout = plan.layout;
  if (plan.config.virtual_batch_size > 0 && plan.normalize_with_batch_stats &&
      plan.whole_batch.empty() && layout.element_count() > 0) {
    return run_virtual_batches(plan, input, output);
  }
  bn_result result;

  // Pass 1: batch statistics, when they decide the normalization.
  if (!plan.whole_batch.empty()) {
    result.batch = plan.whole_batch;  // one shard of a batch measured elsewhere
  } else if (plan.normalize_with_batch_stats) {
    result.batch = channel_moments_of(input, layout);
  }

  // Pass 2: normalize; in eval mode the statistics for inspection are gathered here too.
  const bool gather_here = plan.collect_batch_stats && !plan.normalize_with_batch_stats;
  grouped_moments moments(gather_here ? pass_group_count(layout.element_count()) : 0,
                          layout.channels, wants_extended_moments(plan.input));
  const channel_transform t = make_transform(plan, result.batch);
  stream_groups(input, output.parallel(),
                [&](std::size_t g, std::size_t p, double* x, std::size_t n) {
                  if (gather_here) accumulate(layout, p, x, n, moments.group(g));
                  normalize(layout, t, p, x, n);
                  output.write_at(p, std::span<const double>(x, n));
                });
  output.finish();
  if (gather_here) result.batch = moments.merged();

  result.state = update_running_stats(plan.config, plan.state, result.batch);
  return result;
}

}  // namespace bnorm
