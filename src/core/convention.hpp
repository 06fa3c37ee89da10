// What each framework means by eps, momentum and variance: one row per framework, consulted
// by every subcommand instead of branching on names.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace bnorm {

/// Which value a momentum number weights in the running-statistics update.
enum class momentum_meaning {
  new_batch_weight,  ///< PyTorch: new = (1 − m)·old + m·batch
  old_value_weight,  ///< Keras, ONNX: new = m·old + (1 − m)·batch
};

/// Which batch variance is fed to running_var.
enum class running_variance { unbiased, biased };

/// One framework's batch-normalization semantics (see README, "Conventions").
struct convention {
  std::string_view name;
  double eps;
  double momentum;  ///< the framework's default, in its own meaning
  momentum_meaning meaning;
  long long axis;  ///< default channel axis
  running_variance fed_variance;
  bool single_value_is_error;  ///< PyTorch refuses training with one value per channel
};

/// Every convention bnorm speaks, torch first.
std::span<const convention> conventions();

/// The convention called `name`; throws usage_error listing the known names.
const convention& find_convention(std::string_view name);

/// "weight of the new batch" or "weight of the old value".
std::string_view describe(momentum_meaning meaning);

/// "unbiased" or "biased".
std::string_view describe(running_variance variance);

}  // namespace bnorm
