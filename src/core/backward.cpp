// SPDX-License-Identifier: Apache-2.0
#include "backward.hpp"

#include <cmath>

#include "error.hpp"
#include "passes.hpp"

namespace bnorm {

bn_gradients run_backward(const bn_plan& plan, const tensor_source& input,
                          const tensor_source& grad_output, tensor_sink& grad_input,
                          const std::string& grad_name) {
  const tensor_info& x = input.info();
  const tensor_info& g = grad_output.info();
  if (g.shape != x.shape || (g.fortran_order != x.fortran_order && x.shape.size() > 1)) {
    throw data_error(grad_name + ": shape " + shape_to_string(g.shape) +
                     (g.fortran_order ? " (Fortran order)" : "") + " does not match the input's " +
                     shape_to_string(x.shape) + (x.fortran_order ? " (Fortran order)" : ""));
  }
  const channel_layout& layout = plan.layout;
  const std::size_t channels = layout.channels;

  // The forward step's centre and inverse standard deviation.
  const bool batch = plan.normalize_with_batch_stats;
  std::vector<double> center(channels), invstd(channels), xhat_factor(channels);
  const std::vector<channel_moments> moments =
      batch ? channel_moments_of(input, layout) : std::vector<channel_moments>{};
  for (std::size_t c = 0; c < channels; ++c) {
    center[c] = batch ? moments[c].mean : plan.state.running_mean[c];
    invstd[c] = batch ? batch_inverse_std(plan.config, moments[c])
                      : inverse_std(plan.config, false, plan.state.running_var[c]);
    // PyTorch takes grad_weight = Σ g·(x − μ), times invstd: for an infinite invstd (eval,
    // running_var + eps = 0) that is ±∞ or NaN as the sum's sign says, not a sum of ±∞·g.
    xhat_factor[c] = std::isinf(invstd[c]) ? 1.0 : invstd[c];
  }

  // Σg and Σg·x̂ per channel, per group, merged in group order: the same for any thread count.
  const std::size_t groups = pass_group_count(layout.element_count());
  std::vector<std::vector<double>> sum_g(groups, std::vector<double>(channels)),
      sum_gx(groups, std::vector<double>(channels));
  stream_groups(input, true, [&](std::size_t group, std::size_t p, double* xs, std::size_t n) {
    thread_local std::vector<double> gs;
    gs.resize(n);
    grad_output.read_at(p, gs);
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t c = layout.channel_at(p + i);
      sum_g[group][c] += gs[i];
      sum_gx[group][c] += gs[i] * ((xs[i] - center[c]) * xhat_factor[c]);
    }
  });
  bn_gradients grads{std::vector<double>(channels), std::vector<double>(channels)};
  for (std::size_t k = 0; k < groups; ++k) {
    for (std::size_t c = 0; c < channels; ++c) {
      grads.grad_bias[c] += sum_g[k][c];
      grads.grad_weight[c] += sum_gx[k][c];
    }
  }
  for (std::size_t c = 0; c < channels; ++c) {
    if (std::isinf(invstd[c])) grads.grad_weight[c] *= invstd[c];
  }

  // grad_input, per value.
  const double n = static_cast<double>(layout.count_per_channel());
  std::vector<double> scale(channels), mean_g(channels), mean_gx(channels);
  for (std::size_t c = 0; c < channels; ++c) {
    scale[c] = plan.state.weight[c] * invstd[c];
    mean_g[c] = batch ? grads.grad_bias[c] / n : 0.0;
    mean_gx[c] = batch ? grads.grad_weight[c] / n : 0.0;
  }
  stream_groups(input, grad_input.parallel(),
                [&](std::size_t, std::size_t p, double* xs, std::size_t count) {
                  thread_local std::vector<double> gs;
                  gs.resize(count);
                  grad_output.read_at(p, gs);
                  for (std::size_t i = 0; i < count; ++i) {
                    const std::size_t c = layout.channel_at(p + i);
                    const double xhat = (xs[i] - center[c]) * invstd[c];
                    // With running statistics the gradient is γ·invstd·g alone (x̂ may be ∞).
                    xs[i] = batch ? scale[c] * (gs[i] - mean_g[c] - xhat * mean_gx[c])
                                  : scale[c] * gs[i];
                  }
                  grad_input.write_at(p, std::span<const double>(xs, count));
                });
  grad_input.finish();
  if (!plan.config.affine) {
    grads.grad_weight.clear();
    grads.grad_bias.clear();
  }
  return grads;
}

}  // namespace bnorm
