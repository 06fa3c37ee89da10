// SPDX-License-Identifier: Apache-2.0
// How messages show names that come from files (ZIP members, safetensors keys).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace bnorm {

/// How much of a name a message shows: a name read from a file may be megabytes long, and a
/// message must stay one short line.
inline constexpr std::size_t quoted_name_shown = 64;

/// `name` in single quotes, printable ASCII as is and every other byte as \xNN, so that a name
/// holding a newline or invalid UTF-8 cannot break the one-line error message.  A name longer
/// than quoted_name_shown bytes shows its first bytes, "...", and its length.
inline std::string quoted_name(std::string_view name) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string text = "'";
  for (const char ch : name.substr(0, quoted_name_shown)) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\') {
      text += ch;
    } else {
      text += "\\x";
      text += hex[c >> 4];
      text += hex[c & 15];
    }
  }
  if (name.size() > quoted_name_shown) {
    return text + "...' (a name of " + std::to_string(name.size()) + " bytes)";
  }
  return text + "'";
}

}  // namespace bnorm
