// SPDX-License-Identifier: Apache-2.0
#include "json_lexer.hpp"

#include <fast_float/fast_float.h>
#include <cmath>
#include <limits>

#include "error.hpp"

namespace bnorm::detail {

std::string line_column(std::string_view text, std::size_t offset) {
  std::size_t line = 1, line_start = 0;
  offset = std::min(offset, text.size());
  for (std::size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(offset - line_start + 1);
}

void json_fail(std::string_view text, std::size_t offset, const std::string& what) {
  throw data_error(line_column(text, offset) + ": " + what);
}

json_number lex_json_number(std::string_view text, std::size_t pos) {
  const std::size_t start = pos;
  const auto word = [&](std::string_view w) { return text.substr(pos, w.size()) == w; };
  const bool negative = pos < text.size() && text[pos] == '-';
  if (negative) ++pos;
  if (word("Infinity")) {
    const double inf = std::numeric_limits<double>::infinity();
    return {negative ? -inf : inf, false, pos + 8};
  }
  if (!negative && word("NaN")) return {std::numeric_limits<double>::quiet_NaN(), false, pos + 3};

  // Strict JSON grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  const auto digits = [&] {
    const std::size_t from = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
    return pos - from;
  };
  const std::size_t int_start = pos;
  const std::size_t int_digits = digits();
  if (int_digits == 0) json_fail(text, start, "expected a number");
  if (int_digits > 1 && text[int_start] == '0') {
    json_fail(text, start, "a number may not start with 0 (JSON has no octal)");
  }
  bool integral = true;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    integral = false;
    if (digits() == 0) json_fail(text, pos, "expected a digit after the decimal point");
  }
  if (pos < text.size() && (text[pos] == 'e' || text[pos] == 'E')) {
    ++pos;
    integral = false;
    if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) ++pos;
    if (digits() == 0) json_fail(text, pos, "expected a digit in the exponent");
  }
  double value = 0;
  const auto result = fast_float::from_chars(text.data() + start, text.data() + pos, value);
  if (result.ec != std::errc() || result.ptr != text.data() + pos) {
    json_fail(text, start, "malformed number");
  }
  if (std::isinf(value)) {
    json_fail(text, start,
              "number " + std::string(text.substr(start, std::min<std::size_t>(pos - start, 40))) +
                  " is too large for a double");
  }
  return {value, integral, pos};
}

}  // namespace bnorm::detail
