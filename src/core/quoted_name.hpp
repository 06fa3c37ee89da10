// How messages show names that come from files (ZIP members, safetensors keys).
#pragma once

#include <string>
#include <string_view>

namespace bnorm {

/// `name` in single quotes, printable ASCII as is and every other byte as \xNN, so that a name
/// holding a newline or invalid UTF-8 cannot break the one-line error message.
inline std::string quoted_name(std::string_view name) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string text = "'";
  for (const char ch : name) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\') {
      text += ch;
    } else {
      text += "\\x";
      text += hex[c >> 4];
      text += hex[c & 15];
    }
  }
  return text + "'";
}

}  // namespace bnorm
