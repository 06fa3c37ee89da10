// SPDX-License-Identifier: Apache-2.0
#include "json_document.hpp"

#include <charconv>
#include <cstdint>
#include <unordered_set>

#include "error.hpp"
#include "json_lexer.hpp"
#include "number_format.hpp"

namespace bnorm {
namespace {

using detail::json_fail;
using json = nlohmann::ordered_json;

constexpr int max_depth = 64;

class document_parser {
 public:
  explicit document_parser(std::string_view text) : text_(text) {}

  json parse() {
    skip();
    if (pos_ == text_.size()) json_fail(text_, pos_, "the file is empty (expected a JSON value)");
    json value = parse_value(0);
    skip();
    if (pos_ != text_.size()) json_fail(text_, pos_, "unexpected text after the JSON value");
    return value;
  }

 private:
  void skip() { pos_ = detail::skip_json_space(text_, pos_); }

  char peek() {
    if (pos_ >= text_.size()) json_fail(text_, pos_, "the JSON ends too early");
    return text_[pos_];
  }

  json parse_value(int depth) {
    const char c = peek();
    if (c == '{' || c == '[') {
      if (depth == max_depth) {
        json_fail(text_, pos_, "nested deeper than " + std::to_string(max_depth) + " levels");
      }
      return c == '{' ? parse_object(depth + 1) : parse_array(depth + 1);
    }
    if (c == '"') return parse_string();
    if (detail::starts_json_number(c)) {
      const std::size_t start = pos_;
      const detail::json_number number = detail::lex_json_number(text_, pos_);
      pos_ = number.end;
      if (number.integral) {
        std::int64_t integer = 0;
        const auto [ptr, ec] = std::from_chars(text_.data() + start, text_.data() + pos_, integer);
        if (ec == std::errc() && ptr == text_.data() + pos_) return integer;
      }
      return number.value;
    }
    for (const auto& [word, value] : {std::pair{"true", json(true)},
                                      std::pair{"false", json(false)}, std::pair{"null", json()}}) {
      const std::string_view w = word;
      if (text_.substr(pos_, w.size()) == w) {
        pos_ += w.size();
        return value;
      }
    }
    json_fail(text_, pos_, "expected a JSON value");
  }

  json parse_array(int depth) {
    ++pos_;
    json array = json::array();
    skip();
    if (peek() == ']') {
      ++pos_;
      return array;
    }
    while (true) {
      skip();
      array.push_back(parse_value(depth));
      skip();
      const char c = peek();
      ++pos_;
      if (c == ']') return array;
      if (c != ',') json_fail(text_, pos_ - 1, "expected ',' or ']'");
    }
  }

  json parse_object(int depth) {
    ++pos_;
    json object = json::object();
    // ordered_json looks keys up by scanning: keep a hash set of them, and append without a
    // lookup, so that an object of many keys parses in linear time.
    auto& members = object.get_ref<json::object_t&>();
    std::unordered_set<std::string> seen;
    skip();
    if (peek() == '}') {
      ++pos_;
      return object;
    }
    while (true) {
      skip();
      const std::size_t key_at = pos_;
      if (peek() != '"') json_fail(text_, pos_, "expected a quoted key");
      std::string key = parse_string();
      if (!seen.insert(key).second) {
        json_fail(text_, key_at, "key " + json(key).dump() + " appears twice");
      }
      skip();
      if (peek() != ':') json_fail(text_, pos_, "expected ':' after a key");
      ++pos_;
      skip();
      members.emplace_back(std::move(key), parse_value(depth));
      skip();
      const char c = peek();
      ++pos_;
      if (c == '}') return object;
      if (c != ',') json_fail(text_, pos_ - 1, "expected ',' or '}'");
    }
  }

  std::string parse_string() {
    ++pos_;  // opening quote
    std::string out;
    while (true) {
      const char c = peek();
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (static_cast<unsigned char>(c) < 0x20)
        json_fail(text_, pos_, "control character in a string");
      if (static_cast<unsigned char>(c) >= 0x80) {
        append_utf8_sequence(out);
        continue;
      }
      if (c != '\\') {
        out += c;
        ++pos_;
        continue;
      }
      ++pos_;
      const char e = peek();
      ++pos_;
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u':
          append_utf8(out, parse_code_point());
          break;
        default:
          json_fail(text_, pos_ - 1, "unknown escape in a string");
      }
    }
  }

  // JSON text is UTF-8: copy one multi-byte sequence, refusing malformed, overlong and
  // surrogate encodings so that every string bnorm holds can be written out again.
  void append_utf8_sequence(std::string& out) {
    const auto byte = [&](std::size_t i) {
      return pos_ + i < text_.size() ? static_cast<unsigned char>(text_[pos_ + i]) : 0u;
    };
    const unsigned lead = byte(0);
    std::size_t length = 0;
    unsigned min = 0, cp = 0;
    if (lead >= 0xc2 && lead <= 0xdf) {
      length = 2, min = 0x80, cp = lead & 0x1f;
    } else if (lead >= 0xe0 && lead <= 0xef) {
      length = 3, min = 0x800, cp = lead & 0x0f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      length = 4, min = 0x10000, cp = lead & 0x07;
    } else {
      json_fail(text_, pos_, "invalid UTF-8 in a string");
    }
    for (std::size_t i = 1; i < length; ++i) {
      if ((byte(i) & 0xc0) != 0x80) json_fail(text_, pos_, "invalid UTF-8 in a string");
      cp = (cp << 6) | (byte(i) & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      json_fail(text_, pos_, "invalid UTF-8 in a string");
    }
    out.append(text_.substr(pos_, length));
    pos_ += length;
  }

  unsigned parse_hex4() {
    if (pos_ + 4 > text_.size()) json_fail(text_, pos_, "incomplete \\u escape");
    unsigned value = 0;
    for (int i = 0; i < 4; ++i) {
      const char h = text_[pos_++];
      value <<= 4;
      if (h >= '0' && h <= '9')
        value |= h - '0';
      else if (h >= 'a' && h <= 'f')
        value |= h - 'a' + 10;
      else if (h >= 'A' && h <= 'F')
        value |= h - 'A' + 10;
      else
        json_fail(text_, pos_ - 1, "bad hex digit in a \\u escape");
    }
    return value;
  }

  unsigned parse_code_point() {
    const unsigned high = parse_hex4();
    if (high < 0xd800 || high > 0xdfff) return high;
    if (high > 0xdbff || text_.substr(pos_, 2) != "\\u")
      json_fail(text_, pos_, "unpaired surrogate");
    pos_ += 2;
    const unsigned low = parse_hex4();
    if (low < 0xdc00 || low > 0xdfff) json_fail(text_, pos_, "unpaired surrogate");
    return 0x10000 + ((high - 0xd800) << 10) + (low - 0xdc00);
  }

  static void append_utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xc0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xe0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      out += static_cast<char>(0xf0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    }
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

// A name taken from a file (a file name, a tensor's key) need not be UTF-8, which JSON text
// must be: its bytes that are not become U+FFFD, as Python's errors="replace" places them.
std::string dump_text(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

bool is_flat_number_array(const json& value) {
  if (!value.is_array()) return false;
  for (const json& item : value) {
    if (!item.is_number()) return false;
  }
  return true;
}

void append_value(std::string& out, const json& value, int indent) {
  switch (value.type()) {
    case json::value_t::number_float: {
      const std::size_t start = out.size();
      append_number(out, value.get<double>(), dtype::float64());
      // Keep floats floats: 1.0 written as "1" would read back as an integer (and -0.0 as 0).
      if (out.find_first_of(".eEIN", start) == std::string::npos) out += ".0";
      return;
    }
    case json::value_t::object: {
      if (value.empty()) {
        out += "{}";
        return;
      }
      out += "{\n";
      bool first = true;
      for (const auto& [key, item] : value.items()) {
        if (!first) out += ",\n";
        first = false;
        out.append(indent + 2, ' ');
        out += dump_text(key);
        out += ": ";
        append_value(out, item, indent + 2);
      }
      out += '\n';
      out.append(indent, ' ');
      out += '}';
      return;
    }
    case json::value_t::array: {
      // Per-channel vectors read best on one line; anything else nests like an object.
      const bool flat = is_flat_number_array(value);
      out += '[';
      bool first = true;
      for (const json& item : value) {
        if (!first) out += flat ? ", " : ",";
        first = false;
        if (!flat) {
          out += '\n';
          out.append(indent + 2, ' ');
        }
        append_value(out, item, indent + 2);
      }
      if (!flat && !value.empty()) {
        out += '\n';
        out.append(indent, ' ');
      }
      out += ']';
      return;
    }
    default:
      out += dump_text(value);  // strings, integers, booleans, null: nlohmann's text is exact
      return;
  }
}

}  // namespace

nlohmann::ordered_json parse_json_document(std::string_view text) {
  return document_parser(text).parse();
}

std::string format_json_document(const nlohmann::ordered_json& document) {
  std::string out;
  append_value(out, document, 0);
  out += '\n';
  return out;
}

}  // namespace bnorm
