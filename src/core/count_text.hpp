// SPDX-License-Identifier: Apache-2.0
// How messages put a count before a noun: "1 place", "2 places", "0 channels".
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace bnorm {

/// "1 place", "7 places": the count, a space and the noun, plural unless the count is one.
/// `plural` names an irregular plural ("pass", "passes"); by default an "s" is added.
inline std::string count_text(std::size_t count, std::string_view noun,
                              std::string_view plural = {}) {
  std::string text = std::to_string(count) + " ";
  if (count == 1) return text.append(noun);
  if (!plural.empty()) return text.append(plural);
  return text.append(noun).append("s");
}

}  // namespace bnorm
