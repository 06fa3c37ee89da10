// SPDX-License-Identifier: Apache-2.0
#include "model_fold.hpp"

namespace bnorm {

const char* fold_refusal_code(fold_refusal refusal) {
  switch (refusal) {
    case fold_refusal::input_shared:
      return "input_shared";
    case fold_refusal::after_activation:
      return "after_activation";
    case fold_refusal::unsupported_op:
      return "unsupported_op";
    case fold_refusal::weight_not_constant:
      return "weight_not_constant";
    case fold_refusal::weight_shared:
      return "weight_shared";
    case fold_refusal::parameters_not_constant:
      return "parameters_not_constant";
    case fold_refusal::training_mode:
      return "training_mode";
    case fold_refusal::shape_mismatch:
      return "shape_mismatch";
    case fold_refusal::unsupported_type:
      return "unsupported_type";
    case fold_refusal::not_finite:
      return "not_finite";
  }
  return "unknown";
}

}  // namespace bnorm
