// SPDX-License-Identifier: Apache-2.0
// IEEE 754 binary16 (NumPy's float16, torch.half) as a storage type for xtensor, which has
// none: conversions only, rounded exactly as bnorm rounds a float16 file.
#pragma once

#include <cstdint>
#include <type_traits>

namespace bnorm {

/// An IEEE 754 binary16 value, held as its 16 bits.  It converts to and from float and double
/// and does no arithmetic: bnorm computes in double and rounds once.
struct half {
  /// The bit pattern: sign, 5 exponent bits, 10 mantissa bits.
  std::uint16_t bits = 0;

  /// Positive zero.
  constexpr half() = default;
  /// The binary16 nearest to `value`, ties to even, as NumPy's astype(float16) rounds it
  /// (straight from double, without float's double rounding).
  explicit half(double value);
  /// The binary16 nearest to `value`, ties to even.
  explicit half(float value) : half(static_cast<double>(value)) {}
  /// The binary16 nearest to the integer `value`, ties to even (xtensor's zeros and ones make
  /// their T from an int).  Through double, exactly: an integer that double rounds is far
  /// beyond the largest half, and infinity either way.
  template <class I, std::enable_if_t<std::is_integral_v<I>, int> = 0>
  explicit half(I value) : half(static_cast<double>(value)) {}

  /// The half whose bit pattern is `bits`.
  static constexpr half from_bits(std::uint16_t bits) {
    half h;
    h.bits = bits;
    return h;
  }

  /// The exact value (every binary16 is a double).
  explicit operator double() const;
  /// The exact value (every binary16 is a float).
  explicit operator float() const { return static_cast<float>(static_cast<double>(*this)); }
};

}  // namespace bnorm
