// SPDX-License-Identifier: Apache-2.0
// A field of a CSV or TSV line as RFC 4180 writes it: one spelling for the table codec's header
// and for every report bnorm writes as CSV, so that a name holding a comma or a quote reads
// back as itself everywhere.
#pragma once

#include <string>
#include <string_view>

namespace bnorm {

/// `text` as one field of a line whose fields `separator` separates: in double quotes, each
/// quote doubled, when it holds the separator, a quote or a line end, or begins or ends with a
/// space (which a reader might trim); else as it is (an empty text stays empty).
inline std::string csv_field(std::string_view text, char separator = ',') {
  const bool quoted =
      text.find_first_of(std::string{separator, '"', '\n', '\r'}) != std::string_view::npos ||
      (!text.empty() && (text.front() == ' ' || text.back() == ' '));
  if (!quoted) return std::string(text);
  std::string out = "\"";
  for (const char c : text) {
    out += c;
    if (c == '"') out += '"';
  }
  return out + '"';
}

}  // namespace bnorm
