// SPDX-License-Identifier: Apache-2.0
#include "bfloat16.hpp"

#include <bit>
#include <cmath>

#include "narrow_float.hpp"

namespace bnorm {

double bfloat16_to_double(std::uint16_t bits) {
  return static_cast<double>(std::bit_cast<float>(static_cast<std::uint32_t>(bits) << 16));
}

std::uint16_t double_to_bfloat16(double value) {
  return round_to_16_bit_float<8>(value);
}

}  // namespace bnorm
