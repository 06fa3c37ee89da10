// SPDX-License-Identifier: Apache-2.0
#include "fold.hpp"

#include <cmath>

#include "count_text.hpp"
#include "error.hpp"
#include "fold_formula.hpp"
#include "layout.hpp"
#include "number_format.hpp"
#include "passes.hpp"

namespace bnorm {
namespace {

// Refuses a folded value that its output type cannot hold: like an infinite scale, an
// infinite weight or bias would carry into every later use, unannounced.
void check_holds(dtype type, double unfolded, double value, const std::string& state_name,
                 std::size_t channel, const char* what) {
  if (stays_finite(type, unfolded, value)) return;
  throw data_error(state_name + ": channel " + std::to_string(channel) + ": the folded " + what +
                   " (" + format_number(value, dtype::float64()) + ") is not finite as " +
                   name_of(type));
}

}  // namespace

std::vector<double> fold_batch_norm(const tensor_source& weight, long long axis,
                                    const std::vector<double>& bias, const bn_config& config,
                                    bn_state state, tensor_sink& folded_weight,
                                    const std::string& weight_name, const std::string& state_name) {
  if (state.running_mean.empty() || state.running_var.empty()) {
    throw usage_error(fault::running_statistics_missing, "folding uses eval mode",
                      ", and the state has no running_mean and running_var");
  }
  // The weight is any tensor with the output channels along `axis`, rank 1 included.
  channel_layout layout;
  try {
    layout = make_layout(weight.info(), axis);
  } catch (const data_error& e) {
    throw data_error(weight_name + ": " + e.what());
  }
  // The state's checks and defaults are plan_batch_norm's, for a batch of these channels.
  bn_config eval = config;
  eval.mode = bn_mode::eval;
  eval.track_running_stats = true;
  eval.axis = 1;  // of the (1, channels) stand-in below
  const tensor_info channels_only{dtype::float64(), {1, layout.channels}, false};
  const bn_plan plan =
      plan_batch_norm(channels_only, eval, std::move(state), false, weight_name, state_name);
  const std::size_t channels = layout.channels;
  if (!bias.empty() && bias.size() != channels) {
    throw data_error("the bias has " + count_text(bias.size(), "value") + ", but " + weight_name +
                     " has " + count_text(channels, "output channel"));
  }
  // The type the folded weight and bias are written in.  Magnitudes up to float16's largest
  // value are finite in every floating type; larger ones are checked once rounded.
  const dtype output = output_type_for(weight.info().type);
  constexpr double every_type_holds = 65504;
  std::vector<double> scale(channels), folded_bias(channels);
  for (std::size_t c = 0; c < channels; ++c) {
    scale[c] = fold_scale(plan.state.weight[c], plan.state.running_var[c], plan.config.eps);
    // Eval mode with running_var + eps = 0 gives NaN or ±∞ outputs (as PyTorch does); a folded
    // weight of ±∞ or NaN would carry that into every later use, unannounced: refuse it.
    if (!std::isfinite(scale[c])) {
      const std::string why =
          plan.state.running_var[c] + plan.config.eps == 0
              ? "running_var + eps is 0"
              : "weight/sqrt(running_var + eps) is " + format_number(scale[c], dtype::float64());
      throw data_error(state_name + ": channel " + std::to_string(c) + ": " + why +
                       ", so the folded weight would not be finite");
    }
    const double b = bias.empty() ? 0.0 : bias[c];
    folded_bias[c] =
        bnorm::folded_bias(b, plan.state.running_mean[c], scale[c], plan.state.bias[c]);
    check_holds(output, b, folded_bias[c], state_name, c, "bias");
  }
  stream_groups(weight, folded_weight.parallel(),
                [&](std::size_t, std::size_t p, double* w, std::size_t n) {
                  for (std::size_t i = 0; i < n; ++i) {
                    const std::size_t c = layout.channel_at(p + i);
                    const double unfolded = w[i];
                    w[i] = bnorm::folded_weight(unfolded, scale[c]);
                    // A NaN or ±Inf weight stays what it was; a finite one must stay finite.
                    if (!(std::fabs(w[i]) <= every_type_holds)) {
                      check_holds(output, unfolded, w[i], state_name, c, "weight");
                    }
                  }
                  folded_weight.write_at(p, std::span<const double>(w, n));
                });
  folded_weight.finish();
  return folded_bias;
}

}  // namespace bnorm
