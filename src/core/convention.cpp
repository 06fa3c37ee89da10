#include "convention.hpp"

#include <array>

#include "error.hpp"

namespace bnorm {
namespace {

constexpr std::array table{
    // PyTorch's BatchNorm{1,2,3}d and F.batch_norm.
    convention{"torch", 1e-5, 0.1, momentum_meaning::new_batch_weight, 1,
               running_variance::unbiased, true},
    // Keras 3's BatchNormalization (axis=-1, momentum=0.99, epsilon=1e-3).
    convention{"keras", 1e-3, 0.99, momentum_meaning::old_value_weight, -1,
               running_variance::biased, false},
    // ONNX BatchNormalization, opset 15 (training_mode outputs running statistics).
    convention{"onnx", 1e-5, 0.9, momentum_meaning::old_value_weight, 1, running_variance::biased,
               false},
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

std::string_view describe(momentum_meaning meaning) {
  return meaning == momentum_meaning::new_batch_weight ? "weight of the new batch"
                                                       : "weight of the old value";
}

std::string_view describe(running_variance variance) {
  return variance == running_variance::unbiased ? "unbiased" : "biased";
}

}  // namespace bnorm
