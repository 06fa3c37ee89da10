// SPDX-License-Identifier: Apache-2.0
#include "parse_number.hpp"

#include <charconv>
#include <cmath>

#include "error.hpp"

namespace bnorm::cli {

double parse_finite(const std::string& text, const std::string& flag) {
  double value = 0;
  const char* first = text.data();
  const char* last = text.data() + text.size();
  if (first != last && *first == '+') ++first;
  const auto [ptr, ec] = std::from_chars(first, last, value);
  if (ec != std::errc() || ptr != last || text.empty() || !std::isfinite(value)) {
    throw usage_error(flag + " takes a finite number, not '" + text + "'");
  }
  return value;
}

long long parse_integer(const std::string& text, const std::string& flag) {
  long long value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty()) {
    throw usage_error(flag + " takes an integer, not '" + text + "'");
  }
  return value;
}

}  // namespace bnorm::cli
