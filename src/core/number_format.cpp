// SPDX-License-Identifier: Apache-2.0
#include "number_format.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>

#include "bfloat16.hpp"
#include "half.hpp"

namespace bnorm {

namespace {

// "6.55e+04" → "65500", "1.5e-03" → "0.0015": the same digits in positional notation.
std::string fixed_from_scientific(const std::string& scientific) {
  const std::size_t e = scientific.find('e');
  const bool negative = scientific[0] == '-';
  std::string digits;
  for (std::size_t i = negative ? 1 : 0; i < e; ++i) {
    if (scientific[i] != '.') digits += scientific[i];
  }
  const int exponent = std::atoi(scientific.c_str() + e + 1);
  const int count = static_cast<int>(digits.size());
  std::string text = negative ? "-" : "";
  if (exponent >= count - 1) {
    text += digits + std::string(static_cast<std::size_t>(exponent - (count - 1)), '0');
  } else if (exponent >= 0) {
    text += digits.substr(0, exponent + 1) + "." + digits.substr(exponent + 1);
  } else {
    text += "0." + std::string(static_cast<std::size_t>(-exponent - 1), '0') + digits;
  }
  return text;
}

}  // namespace

void append_number(std::string& out, double value, dtype type) {
  // Round to the output type first: a finite double may overflow float16 or float32.
  if (type.kind == scalar_kind::bfloat) {
    // Every bfloat16 is a float32, whose shortest text reads back as the same bfloat16 (not
    // always the shortest such text, which no caller needs: JSON outputs are float32).
    value = bfloat16_to_double(double_to_bfloat16(value));
    type = dtype::float32();
  }
  if (type.size == 2) value = half_to_double(double_to_half(value));
  if (type.size == 4) value = static_cast<float>(value);
  if (std::isnan(value)) {
    out += "NaN";
    return;
  }
  if (std::isinf(value)) {
    out += value < 0 ? "-Infinity" : "Infinity";
    return;
  }
  if (value == 0 && std::signbit(value)) {
    out += "-0.0";  // "-0" reads back as the integer 0 in Python, losing the sign
    return;
  }
  char buffer[64];
  std::to_chars_result result{};
  switch (type.size) {
    case 2: {
      // std::to_chars has no float16 overload: take the fewest significant digits that round
      // back to the same half (five always suffice), then the shorter of their fixed and
      // scientific spellings, as the float32 and float64 overloads choose.
      const std::uint16_t bits = double_to_half(value);
      for (int digits = 1; digits <= 5; ++digits) {
        result = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific,
                               digits - 1);
        double back = 0;
        std::from_chars(buffer, result.ptr, back);
        if (double_to_half(back) != bits) continue;
        const std::string scientific(buffer, result.ptr);
        const std::string fixed = fixed_from_scientific(scientific);
        out += fixed.size() <= scientific.size() ? fixed : scientific;
        return;
      }
      break;
    }
    case 4:
      result = std::to_chars(buffer, buffer + sizeof buffer, static_cast<float>(value));
      break;
    default:
      result = std::to_chars(buffer, buffer + sizeof buffer, value);
      break;
  }
  out.append(buffer, result.ptr);
}

std::string format_number(double value, dtype type) {
  std::string text;
  append_number(text, value, type);
  return text;
}

}  // namespace bnorm
