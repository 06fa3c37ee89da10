// SPDX-License-Identifier: Apache-2.0
#include "public_types.hpp"

#include <cmath>

#include "convention.hpp"
#include "error.hpp"
#include "formats/registry.hpp"
#include "number_format.hpp"

namespace bnorm::lib {

namespace {

// The --convention word of each framework, whose row of the core's table holds its semantics.
std::string_view convention_name(framework f) {
  switch (f) {
    case framework::torch:
      return "torch";
    case framework::keras:
      return "keras";
    case framework::onnx:
      return "onnx";
    case framework::tf_fused:
      return "tf-fused";
    case framework::caffe:
      return "caffe";
    case framework::flax:
      return "flax";
  }
  throw usage_error("unknown framework " + std::to_string(static_cast<int>(f)));
}

// The CLI's checks of --eps and --momentum, in the library's terms: a NaN, a negative eps or a
// momentum outside [0, 1] would give NaN outputs or running statistics without a word.
void check_numbers(const options& opts) {
  if (opts.eps && !(std::isfinite(*opts.eps) && *opts.eps >= 0)) {
    throw usage_error("eps must be a finite number at least 0, not " +
                      format_number(*opts.eps, dtype::float64()));
  }
  if (opts.momentum && !(*opts.momentum >= 0 && *opts.momentum <= 1)) {
    throw usage_error("momentum must be a number in [0, 1], not " +
                      format_number(*opts.momentum, dtype::float64()));
  }
}

}  // namespace

bn_config config_of(const options& opts) {
  check_numbers(opts);
  bn_config config = default_config(find_convention(convention_name(opts.framework)));
  config.mode = opts.mode == mode::train ? bn_mode::train : bn_mode::eval;
  if (opts.eps) config.eps = *opts.eps;
  if (opts.momentum) config.momentum = *opts.momentum;
  if (opts.cumulative_average) config.momentum = std::nullopt;
  if (opts.axis) config.axis = *opts.axis;
  // As --no-affine: a framework whose layer has no weight and bias (Caffe) has none either way.
  config.affine = config.affine && opts.affine;
  config.track_running_stats = opts.track_running_stats;
  config.virtual_batch_size = opts.virtual_batch_size;
  return config;
}

bn_state state_of(const layer_state& state) {
  return {state.weight, state.bias, state.running_mean, state.running_var,
          state.num_batches_tracked};
}

layer_state public_state(const bn_state& state) {
  return {state.weight, state.bias, state.running_mean, state.running_var,
          state.num_batches_tracked};
}

std::vector<channel_statistics> public_statistics(const std::vector<channel_moments>& channels) {
  std::vector<channel_statistics> out;
  out.reserve(channels.size());
  for (const channel_moments& m : channels) {
    out.push_back(
        {m.count, m.mean + m.mean_low, m.var(), m.var_unbiased(), m.min, m.max, m.nonfinite});
  }
  return out;
}

const codec* format_named(const std::string& name) {
  if (name.empty()) return nullptr;
  if (const codec* format = codec_named(name)) return format;
  throw usage_error("unknown format " + name + " (known: " + format_names(", ", " or ") + ")");
}

}  // namespace bnorm::lib
