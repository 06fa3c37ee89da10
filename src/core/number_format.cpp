#include "number_format.hpp"

#include <charconv>
#include <cmath>

#include "half.hpp"

namespace bnorm {

void append_number(std::string& out, double value, dtype type) {
  // Round to the output type first: a finite double may overflow float16 or float32.
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
  char buffer[64];
  std::to_chars_result result{};
  switch (type.size) {
    case 2: {
      // std::to_chars has no float16 overload: take the fewest significant digits that
      // round back to the same half.  Five always suffice for binary16.
      const std::uint16_t bits = double_to_half(value);
      for (int digits = 1; digits <= 5; ++digits) {
        result = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::general,
                               digits);
        double back = 0;
        std::from_chars(buffer, result.ptr, back);
        if (double_to_half(back) == bits) break;
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
