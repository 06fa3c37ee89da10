// SPDX-License-Identifier: Apache-2.0
#include "fold_formula.hpp"

#include <cstddef>

namespace bnorm {

double rounded_to(dtype type, double value) {
  std::byte bytes[sizeof(double)];
  encode(type, &value, 1, bytes);
  double back;
  decode(type, bytes, 1, &back);
  return back;
}

}  // namespace bnorm
