// SPDX-License-Identifier: Apache-2.0
// Text and numbers as an SVG picture (stats --plot, layers --plot) writes them.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

#include "utf8.hpp"

namespace bnorm {

/// `text` as XML character data or an attribute value: markup characters as entities, and
/// what XML 1.0 has no character for as U+FFFD: the control bytes (all below 0x20 but tab,
/// newline and carriage return), bytes that are not UTF-8 (as Python's errors="replace" marks
/// them), encoded surrogates and U+FFFE/U+FFFF; so that any file or tensor name still gives a
/// well-formed picture.
inline std::string svg_escape(std::string_view text) {
  static constexpr std::string_view replacement = "\xef\xbf\xbd";
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    const char c = text.front();
    const utf8_sequence sequence = first_utf8_sequence(text);
    const std::string_view character = text.substr(0, sequence.length);
    text.remove_prefix(sequence.length);
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        if (!sequence.valid || character == "\xef\xbf\xbe" || character == "\xef\xbf\xbf" ||
            (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r')) {
          out += replacement;
        } else {
          out += character;
        }
    }
  }
  return out;
}

/// A coordinate to a tenth of a pixel.
inline std::string svg_number(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f", value);
  return buffer;
}

}  // namespace bnorm
