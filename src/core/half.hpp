// SPDX-License-Identifier: Apache-2.0
// IEEE 754 binary16 (NumPy's float16) conversions, exact in one direction and correctly
// rounded in the other, so bnorm writes the same float16 bits NumPy would.
#pragma once

#include <cstdint>

namespace bnorm {

/// The exact value of a binary16 bit pattern.
double half_to_double(std::uint16_t bits);

/// The binary16 nearest to `value` (ties to even), as NumPy's astype(float16) rounds it;
/// rounding straight from double avoids the double-rounding error of going through float.
std::uint16_t double_to_half(double value);

}  // namespace bnorm
