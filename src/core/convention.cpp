// SPDX-License-Identifier: Apache-2.0
#include "convention.hpp"

#include <array>

#include "error.hpp"

namespace bnorm {
namespace {

// Designated initializers: a field left out takes the default that convention.hpp gives it.
constexpr std::array table{
    // PyTorch's BatchNorm{1,2,3}d and F.batch_norm.
    convention{.name = "torch",
               .eps = 1e-5,
               .momentum = 0.1,
               .meaning = momentum_meaning::new_batch_weight,
               .axis = 1,
               .fed_variance = running_variance::unbiased,
               .single_value_is_error = true,
               .zero_variance_invstd_is_zero = true,
               .folds_mean_into_shift = true,
               .empty_batch_keeps_running_stats = true},
    // Keras 3's BatchNormalization (axis=-1, momentum=0.99, epsilon=1e-3).
    convention{.name = "keras",
               .eps = 1e-3,
               .momentum = 0.99,
               .meaning = momentum_meaning::old_value_weight,
               .axis = -1,
               .fed_variance = running_variance::biased,
               .single_value_is_error = false,
               .folds_mean_into_shift = true},
    // ONNX BatchNormalization, opset 15 (training_mode outputs running statistics).
    convention{.name = "onnx",
               .eps = 1e-5,
               .momentum = 0.9,
               .meaning = momentum_meaning::old_value_weight,
               .axis = 1,
               .fed_variance = running_variance::biased,
               .single_value_is_error = false},
    // TensorFlow's fused batch norm (tf.keras with fused=True): exponential_avg_factor 1 − m,
    // Bessel's correction guarded for n = 1, eps at least cuDNN's 1.001e-5, 4-D and 5-D only.
    convention{.name = "tf-fused",
               .eps = 1e-3,
               .momentum = 0.99,
               .meaning = momentum_meaning::old_value_weight,
               .axis = -1,
               .fed_variance = running_variance::unbiased_guarded,
               .single_value_is_error = false,
               .min_eps = 1.001e-5,
               .min_rank = 4,
               .max_rank = 5},
    // Caffe's BatchNorm layer: moving_average_fraction 0.999 with the scale-factor
    // accumulator, no scale or shift (a separate Scale layer has them).
    convention{.name = "caffe",
               .eps = 1e-5,
               .momentum = 0.999,
               .meaning = momentum_meaning::caffe_fraction,
               .axis = 1,
               .fed_variance = running_variance::unbiased_guarded,
               .single_value_is_error = false,
               .affine = false},
    // Flax linen's BatchNorm: momentum 0.99 of the old value, axis -1.  Its fast variance,
    // max(0, E[x²] − E[x]²), is the biased variance; bnorm computes it without cancellation.
    convention{.name = "flax",
               .eps = 1e-5,
               .momentum = 0.99,
               .meaning = momentum_meaning::old_value_weight,
               .axis = -1,
               .fed_variance = running_variance::biased,
               .single_value_is_error = false},
};

}  // namespace

std::span<const convention> conventions() {
  return table;
}

const convention& find_convention(std::string_view name) {
  std::string known;
  for (const convention& c : table) {
    if (c.name == name) return c;
    known += (known.empty() ? "" : ", ") + std::string(c.name);
  }
  throw usage_error("unknown convention '" + std::string(name) + "' (known: " + known + ")");
}

std::optional<double> convert_momentum(double momentum, const convention& from,
                                       const convention& to) {
  if (from.meaning == to.meaning) return momentum;
  if (from.meaning == momentum_meaning::caffe_fraction ||
      to.meaning == momentum_meaning::caffe_fraction) {
    return std::nullopt;
  }
  // The two remaining meanings weigh the new batch m and 1 - m.
  return 1 - momentum;
}

std::string_view describe(momentum_meaning meaning) {
  switch (meaning) {
    case momentum_meaning::new_batch_weight:
      return "weight of the new batch";
    case momentum_meaning::old_value_weight:
      return "weight of the old value";
    case momentum_meaning::caffe_fraction:
      break;
  }
  return "moving_average_fraction m: the new batch weighs 1/s, s = m*s + 1 per batch";
}

std::string_view describe(running_variance variance) {
  switch (variance) {
    case running_variance::unbiased:
      return "unbiased";
    case running_variance::biased:
      break;
    case running_variance::unbiased_guarded:
      return "unbiased, biased when n = 1";
  }
  return "biased";
}

}  // namespace bnorm
