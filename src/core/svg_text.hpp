// Text and numbers as an SVG picture (stats --plot, layers --plot) writes them.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

namespace bnorm {

/// `text` as XML character data or an attribute value: markup characters as entities, and the
/// control bytes XML 1.0 forbids (all below 0x20 but tab, newline and carriage return) as
/// U+FFFD, so that a file name holding one still gives a well-formed picture.
inline std::string svg_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
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
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') {
          out += "\xef\xbf\xbd";
        } else {
          out += c;
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
