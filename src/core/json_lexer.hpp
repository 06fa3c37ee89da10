// SPDX-License-Identifier: Apache-2.0
// The pieces of JSON that bnorm's two JSON readers (tensors and small documents) share:
// whitespace, numbers with strict JSON grammar, and positions as line:column.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace bnorm::detail {

/// "line 3, column 14" for a byte offset into `text` (columns count bytes, from 1).
std::string line_column(std::string_view text, std::size_t offset);

/// Throws data_error "<line_column>: <what>".
[[noreturn]] void json_fail(std::string_view text, std::size_t offset, const std::string& what);

inline bool is_json_space(char c) {
  return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

inline std::size_t skip_json_space(std::string_view text, std::size_t pos) {
  while (pos < text.size() && is_json_space(text[pos])) ++pos;
  return pos;
}

/// A number token as JSON writes it, or one of the non-finite words Python's json module
/// writes (NaN, Infinity, -Infinity).  `integral` says the token had no fraction or exponent.
struct json_number {
  double value = 0;
  bool integral = false;
  std::size_t end = 0;  // offset just past the token
};

/// Lexes the number starting at `pos`; throws (with line:column) on a malformed token or a
/// value that overflows double (1e400).  Underflow rounds to zero, as every JSON reader does.
json_number lex_json_number(std::string_view text, std::size_t pos);

/// True when the character at `pos` can start a number token.
inline bool starts_json_number(char c) {
  return (c >= '0' && c <= '9') || c == '-' || c == 'N' || c == 'I';
}

}  // namespace bnorm::detail
