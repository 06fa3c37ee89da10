// SPDX-License-Identifier: Apache-2.0
#include "npy_header.hpp"

#include <cstring>

#include "error.hpp"

namespace bnorm {
namespace {

constexpr std::string_view magic = "\x93NUMPY";
constexpr std::size_t array_align = 64;
// NumPy 1.24 leaves room for the growth axis to reach 21 digits, so that appending to a file
// can rewrite the header in place; bnorm pads identically to produce identical bytes.
constexpr std::size_t growth_axis_max_digits = 21;

[[noreturn]] void fail_at(std::size_t offset, const std::string& what) {
  throw data_error("header at byte " + std::to_string(offset) + ": " + what);
}

// A cursor over the header's Python dict literal.  It accepts only the literal forms NumPy
// writes (strings, True/False, tuples of non-negative integers); nothing is ever evaluated.
class header_parser {
 public:
  header_parser(std::string_view text, std::size_t offset) : text_(text), base_(offset) {}

  tensor_info parse() {
    skip_space();
    expect('{', "the header is not a Python dict literal (expected '{')");
    bool have_descr = false, have_order = false, have_shape = false;
    tensor_info info;
    skip_space();
    while (peek() != '}') {
      const std::size_t key_at = pos_;
      const std::string key = parse_string("a quoted key");
      skip_space();
      expect(':', "expected ':' after key '" + key + "'");
      skip_space();
      if (key == "descr") {
        if (have_descr) fail(key_at, "key 'descr' appears twice");
        have_descr = true;
        if (peek() == '[') fail(pos_, "structured dtypes (a list of fields) are not supported");
        const std::size_t at = pos_;
        const std::string descr = parse_string("a quoted dtype string");
        try {
          info.type = parse_descr(descr);
        } catch (const data_error& e) {
          fail(at, e.what());
        }
      } else if (key == "fortran_order") {
        if (have_order) fail(key_at, "key 'fortran_order' appears twice");
        have_order = true;
        info.fortran_order = parse_bool();
      } else if (key == "shape") {
        if (have_shape) fail(key_at, "key 'shape' appears twice");
        have_shape = true;
        info.shape = parse_shape();
      } else {
        fail(key_at, "unexpected key '" + key +
                         "' (a .npy header has exactly descr, fortran_order and shape)");
      }
      skip_space();
      if (peek() == ',') {
        ++pos_;
        skip_space();
      } else if (peek() != '}') {
        fail(pos_, "expected ',' or '}' after the value of '" + key + "'");
      }
    }
    ++pos_;
    skip_space();
    if (pos_ != text_.size()) fail(pos_, "unexpected text after the header dict");
    if (!have_descr) fail(0, "missing key 'descr'");
    if (!have_order) fail(0, "missing key 'fortran_order'");
    if (!have_shape) fail(0, "missing key 'shape'");
    check_size(info);
    return info;
  }

 private:
  [[noreturn]] void fail(std::size_t at, const std::string& what) const {
    fail_at(base_ + at, what);
  }

  char peek() const {
    if (pos_ >= text_.size()) fail(pos_, "the header ends too early");
    return text_[pos_];
  }

  void expect(char c, const std::string& what) {
    if (peek() != c) fail(pos_, what);
    ++pos_;
  }

  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  std::string parse_string(const std::string& what) {
    const char quote = peek();
    if (quote != '\'' && quote != '"') fail(pos_, "expected " + what);
    const std::size_t start = ++pos_;
    while (peek() != quote) {
      const char c = text_[pos_];
      if (c == '\\' || c == '\n' || static_cast<unsigned char>(c) >= 0x80) {
        fail(pos_, "unsupported character in a header string");
      }
      ++pos_;
    }
    return std::string(text_.substr(start, pos_++ - start));
  }

  bool parse_bool() {
    for (const auto& [word, value] : {std::pair{"True", true}, std::pair{"False", false}}) {
      const std::size_t n = std::strlen(word);
      if (text_.substr(pos_, n) == word) {
        pos_ += n;
        return value;
      }
    }
    fail(pos_, "fortran_order must be True or False");
  }

  std::vector<std::size_t> parse_shape() {
    expect('(', "shape must be a tuple such as (4, 3)");
    std::vector<std::size_t> shape;
    bool trailing_comma = false;
    skip_space();
    while (peek() != ')') {
      if (shape.size() == npy_max_rank) {
        fail(pos_, "shape has more than " + std::to_string(npy_max_rank) + " dimensions");
      }
      shape.push_back(parse_dimension());
      skip_space();
      trailing_comma = false;
      if (peek() == ',') {
        ++pos_;
        trailing_comma = true;
        skip_space();
      } else if (peek() != ')') {
        fail(pos_, "expected ',' or ')' in shape");
      }
    }
    if (shape.size() == 1 && !trailing_comma) {
      fail(pos_, "shape (" + std::to_string(shape[0]) + ") is an integer, not a tuple; write (" +
                     std::to_string(shape[0]) + ",)");
    }
    ++pos_;
    return shape;
  }

  std::size_t parse_dimension() {
    const std::size_t start = pos_;
    if (peek() == '-') fail(pos_, "shape has a negative dimension");
    std::size_t value = 0;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      if (__builtin_mul_overflow(value, std::size_t{10}, &value) ||
          __builtin_add_overflow(value, static_cast<std::size_t>(text_[pos_] - '0'), &value)) {
        fail(start, "shape has a dimension too large to address");
      }
      ++pos_;
    }
    if (pos_ == start) fail(pos_, "shape must hold non-negative integers");
    if (pos_ < text_.size() && (text_[pos_] == 'L' || text_[pos_] == 'l')) ++pos_;  // Python 2
    if (pos_ < text_.size() && (text_[pos_] == '.' || text_[pos_] == 'e' || text_[pos_] == 'E' ||
                                text_[pos_] == 'j' || text_[pos_] == 'x')) {
      fail(start, "shape must hold non-negative integers");
    }
    return value;
  }

  void check_size(const tensor_info& info) const {
    std::size_t bytes = info.type.size;
    for (std::size_t d : info.shape) {
      if (__builtin_mul_overflow(bytes, d, &bytes)) {
        fail(0, "shape " + shape_to_string(info.shape) + " of " + name_of(info.type) +
                    " is too large to address");
      }
    }
  }

  std::string_view text_;
  std::size_t base_;
  std::size_t pos_ = 0;
};

}  // namespace

npy_preamble parse_npy_preamble(std::string_view bytes) {
  if (bytes.empty()) throw data_error("the file is empty (not a .npy file)");
  if (!bytes.starts_with(magic)) {
    if (bytes.size() < magic.size() && magic.starts_with(bytes)) {
      fail_at(bytes.size(), "the file ends inside the magic string");
    }
    fail_at(0, "not a .npy file (the magic string \\x93NUMPY is missing)");
  }
  if (bytes.size() < npy_magic_size) fail_at(bytes.size(), "the file ends inside the version");
  const int major = static_cast<unsigned char>(bytes[6]);
  const int minor = static_cast<unsigned char>(bytes[7]);
  if (major < 1 || major > 3 || minor != 0) {
    fail_at(6, "unknown .npy version " + std::to_string(major) + "." + std::to_string(minor) +
                   " (1.0, 2.0 and 3.0 exist)");
  }
  npy_preamble preamble;
  preamble.major_version = major;
  const std::size_t length_bytes = major == 1 ? 2 : 4;
  preamble.header_offset = npy_magic_size + length_bytes;
  if (bytes.size() < preamble.header_offset) {
    fail_at(bytes.size(), "the file ends inside the header length");
  }
  std::size_t length = 0;
  for (std::size_t i = 0; i < length_bytes; ++i) {
    length |= static_cast<std::size_t>(static_cast<unsigned char>(bytes[npy_magic_size + i]))
              << (8 * i);
  }
  if (length == 0) fail_at(npy_magic_size, "the header length is 0");
  if (length > npy_max_header_size) {
    fail_at(npy_magic_size, "the header length " + std::to_string(length) +
                                " exceeds NumPy's limit of " + std::to_string(npy_max_header_size));
  }
  preamble.header_size = length;
  return preamble;
}

tensor_info parse_npy_header(std::string_view text, std::size_t offset, int major_version) {
  (void)major_version;  // 3.0 allows UTF-8, but no valid key or value needs non-ASCII text
  return header_parser(text, offset).parse();
}

std::string format_npy_header(const tensor_info& info) {
  std::string dict = "{'descr': '" + descr_of(info.type) +
                     "', 'fortran_order': " + (info.fortran_order ? "True" : "False") +
                     ", 'shape': " + shape_to_string(info.shape) + ", }";
  if (!info.shape.empty()) {
    const std::size_t growth = info.fortran_order ? info.shape.back() : info.shape.front();
    const std::size_t digits = std::to_string(growth).size();
    if (digits < growth_axis_max_digits) dict.append(growth_axis_max_digits - digits, ' ');
  }
  for (int major : {1, 2}) {
    const std::size_t prefix = npy_magic_size + (major == 1 ? 2 : 4);
    const std::size_t unpadded = dict.size() + 1;  // + '\n'
    const std::size_t padding = array_align - (prefix + unpadded) % array_align;
    const std::size_t length = unpadded + padding;
    if (major == 1 && length > 0xffff) continue;
    std::string out(magic);
    out += static_cast<char>(major);
    out += '\0';
    for (std::size_t i = 0; i < prefix - npy_magic_size; ++i) {
      out += static_cast<char>((length >> (8 * i)) & 0xff);
    }
    out += dict;
    out.append(padding, ' ');
    out += '\n';
    return out;
  }
  throw data_error("shape " + shape_to_string(info.shape) + " does not fit a .npy header");
}

}  // namespace bnorm
