// SPDX-License-Identifier: Apache-2.0
// The public half, rounded by the core's one binary16 conversion.
#include <bnorm/half.hpp>

#include "half.hpp"

namespace bnorm {

half::half(double value) : bits(double_to_half(value)) {}

half::operator double() const {
  return half_to_double(bits);
}

}  // namespace bnorm
