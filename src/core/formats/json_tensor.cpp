// SPDX-License-Identifier: Apache-2.0
#include "json_tensor.hpp"

#include <algorithm>

#include "count_text.hpp"
#include "error.hpp"
#include "json_lexer.hpp"
#include "number_format.hpp"
#include "tensor_info.hpp"

namespace bnorm {

using detail::json_fail;

json_tensor parse_json_tensor(std::string_view text) {
  json_tensor result;
  // Shape entries become known as arrays close: the first array to close at each depth fixes
  // that dimension, and every later one must match it.  `rank` is fixed by the first number
  // (or, for an array of empty arrays, by the first array that closes).
  constexpr std::size_t unknown = static_cast<std::size_t>(-1);
  std::vector<std::size_t> shape;
  std::vector<std::size_t> counts;  // elements seen so far in each open array
  std::size_t rank = unknown;

  std::size_t pos = detail::skip_json_space(text, 0);
  if (pos == text.size()) json_fail(text, pos, "the file is empty (expected a JSON array)");
  if (text[pos] != '[') json_fail(text, pos, "a tensor must be a JSON array of arrays of numbers");

  bool expect_value = true;  // after '[' or ','
  bool after_comma = false;
  while (true) {
    pos = detail::skip_json_space(text, pos);
    if (pos == text.size()) json_fail(text, pos, "the JSON ends inside an array");
    const char c = text[pos];
    const std::size_t depth = counts.size();  // depth of the value that may start here
    if (c == ']') {
      if (depth == 0 || after_comma)
        json_fail(text, pos, depth == 0 ? "unmatched ']'" : "a ',' is followed by ']'");
      const std::size_t closing = depth - 1;
      const std::size_t count = counts.back();
      if (rank == unknown) rank = depth;  // [] or [[], []]: no number gives the depth
      if (shape.size() <= closing) shape.resize(closing + 1, unknown);
      if (shape[closing] == unknown) {
        shape[closing] = count;
      } else if (shape[closing] != count) {
        json_fail(text, pos,
                  "ragged array: " + count_text(count, "element") +
                      " where the first array at depth " + std::to_string(closing + 1) + " has " +
                      std::to_string(shape[closing]));
      }
      counts.pop_back();
      ++pos;
      if (counts.empty()) break;
      expect_value = false;
      after_comma = false;
      continue;
    }
    if (!expect_value) {
      if (c != ',') json_fail(text, pos, "expected ',' or ']'");
      ++pos;
      expect_value = true;
      after_comma = true;
      continue;
    }
    after_comma = false;
    if (depth > 0) ++counts.back();
    if (c == '[') {
      if (rank != unknown && depth >= rank) {
        json_fail(text, pos,
                  "mixed depth: an array where a number was found at the same depth before");
      }
      if (depth == json_max_rank) {
        json_fail(text, pos,
                  "arrays nested deeper than " + std::to_string(json_max_rank) + " levels");
      }
      counts.push_back(0);
      ++pos;
      continue;
    }
    if (detail::starts_json_number(c)) {
      if (rank == unknown) rank = depth;
      if (depth != rank) {
        json_fail(text, pos,
                  "mixed depth: a number where an array was found at the same depth before");
      }
      const detail::json_number number = detail::lex_json_number(text, pos);
      result.values.push_back(number.value);
      pos = number.end;
      expect_value = false;
      continue;
    }
    if (text.substr(pos, 4) == "null") {
      json_fail(text, pos, "null is not a number (write NaN for a missing value)");
    }
    if (c == '"') json_fail(text, pos, "a string is not a number");
    if (c == '{') json_fail(text, pos, "an object is not a number");
    if (c == 't' || c == 'f') json_fail(text, pos, "a boolean is not a number");
    json_fail(text, pos, "expected a number or '['");
  }
  pos = detail::skip_json_space(text, pos);
  if (pos != text.size()) json_fail(text, pos, "unexpected text after the array");
  for (std::size_t& d : shape) {
    if (d == unknown) d = 0;  // dimensions below an empty array
  }
  shape.resize(rank);
  result.shape = std::move(shape);
  return result;
}

namespace {

// Nested arrays down to the first zero dimension, which is written as [].
void append_empty(std::string& out, const std::vector<std::size_t>& shape, std::size_t depth) {
  out += '[';
  if (depth + 1 < shape.size() && shape[depth] > 0) {
    for (std::size_t i = 0; i < shape[depth]; ++i) {
      if (i > 0) out += ", ";
      append_empty(out, shape, depth + 1);
    }
  }
  out += ']';
}

}  // namespace

bool json_holds_shape(const std::vector<std::size_t>& shape) {
  const auto first_zero = std::find(shape.begin(), shape.end(), std::size_t{0});
  return first_zero == shape.end() || first_zero + 1 == shape.end();
}

void append_json_tensor(std::string& out, const double* values,
                        const std::vector<std::size_t>& shape, dtype type) {
  const std::size_t rank = shape.size();
  if (rank == 0) {
    append_number(out, values[0], type);
    out += '\n';
    return;
  }
  std::vector<std::size_t> index(rank, 0);
  std::size_t count = 1;
  for (std::size_t d : shape) count *= d;
  if (count == 0) {
    append_empty(out, shape, 0);  // (2, 0) is [[], []], not [[]]
    out += '\n';
    return;
  }
  out.append(rank, '[');
  for (std::size_t i = 0; i < count; ++i) {
    append_number(out, values[i], type);
    // Advance the odometer; the number of dimensions that wrap is the number of ']' to close.
    std::size_t d = rank;
    while (d > 0 && ++index[d - 1] == shape[d - 1]) {
      index[d - 1] = 0;
      --d;
    }
    const std::size_t closed = rank - d;
    out.append(closed, ']');
    if (d == 0) break;
    if (closed == 0) {
      out += ", ";
    } else {
      out += ",\n";
      out.append(d, ' ');
      out.append(closed, '[');
    }
  }
  out += '\n';
}

}  // namespace bnorm
