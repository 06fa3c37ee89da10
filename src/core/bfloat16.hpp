// SPDX-License-Identifier: Apache-2.0
// bfloat16 ("brain floating point": float32's sign and 8-bit exponent, 7 mantissa bits), which
// safetensors carries as BF16 and NumPy has no type for.  Exact in one direction and correctly
// rounded in the other, like half.hpp.
#pragma once

#include <cstdint>

namespace bnorm {

/// The exact value of a bfloat16 bit pattern (every bfloat16 is a float32 with 16 zero bits).
double bfloat16_to_double(std::uint16_t bits);

/// The bfloat16 nearest to `value` (ties to even), rounded straight from double: going through
/// float would round twice and miss by one unit when the float lands exactly on a tie.  NaN
/// stays NaN (quiet, sign kept); values past the largest bfloat16's rounding range become inf.
std::uint16_t double_to_bfloat16(double value);

}  // namespace bnorm
