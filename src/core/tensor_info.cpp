// SPDX-License-Identifier: Apache-2.0
#include "tensor_info.hpp"

namespace bnorm {

std::size_t tensor_info::element_count() const {
  std::size_t count = 1;
  for (std::size_t d : shape) count *= d;
  return count;
}

std::string shape_to_string(const std::vector<std::size_t>& shape) {
  std::string text = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) text += ", ";
    text += std::to_string(shape[i]);
  }
  if (shape.size() == 1) text += ",";
  return text + ")";
}

}  // namespace bnorm
