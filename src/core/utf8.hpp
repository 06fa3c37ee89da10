// SPDX-License-Identifier: Apache-2.0
// Whether bytes are UTF-8 as Python decodes it, for the names and strings the readers take
// from files.
#pragma once

#include <cstddef>
#include <string_view>

namespace bnorm {

/// What a decoder lets through besides Unicode scalar values.
enum class surrogates : bool {
  refused,  ///< Python's strict "utf-8" (ZIP names, JSON keys)
  allowed,  ///< "surrogatepass", as pickle encodes a str holding a lone surrogate
};

/// The bytes at the start of `text` as a decoder takes them: `length` of them form one
/// character when `valid`, else they are the longest start of a sequence that went wrong
/// (at least one byte), which Python's errors="replace" turns into one U+FFFD.
struct utf8_sequence {
  std::size_t length;
  bool valid;
};
utf8_sequence first_utf8_sequence(std::string_view text, surrogates allow = surrogates::refused);

/// True when `text` is valid UTF-8: no overlong forms, nothing past U+10FFFF, and the encoded
/// surrogates U+D800..U+DFFF only where `allow` lets them through.
bool is_valid_utf8(std::string_view text, surrogates allow = surrogates::refused);

}  // namespace bnorm
