// SPDX-License-Identifier: Apache-2.0
#include "utf8.hpp"

#include <cstddef>

namespace bnorm {

utf8_sequence first_utf8_sequence(std::string_view text, surrogates allow) {
  const auto c = static_cast<unsigned char>(text[0]);
  std::size_t length = 0;
  unsigned low = 0x80;  // the range of the second byte
  unsigned high = 0xbf;
  if (c < 0x80) {
    return {1, true};
  } else if (c >= 0xc2 && c <= 0xdf) {
    length = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    length = 3;
    if (c == 0xe0) low = 0xa0;
    if (c == 0xed && allow == surrogates::refused) high = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    length = 4;
    if (c == 0xf0) low = 0x90;
    if (c == 0xf4) high = 0x8f;
  } else {
    return {1, false};
  }
  for (std::size_t k = 1; k < length; ++k) {
    if (k == text.size()) return {k, false};
    const auto next = static_cast<unsigned char>(text[k]);
    if (next < (k == 1 ? low : 0x80) || next > (k == 1 ? high : 0xbf)) return {k, false};
  }
  return {length, true};
}

bool is_valid_utf8(std::string_view text, surrogates allow) {
  while (!text.empty()) {
    const utf8_sequence sequence = first_utf8_sequence(text, allow);
    if (!sequence.valid) return false;
    text.remove_prefix(sequence.length);
  }
  return true;
}

}  // namespace bnorm
