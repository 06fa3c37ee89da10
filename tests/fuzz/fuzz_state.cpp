// libFuzzer target: arbitrary text as a --state file, as partial statistics, and as any small
// JSON document.  A
// document that parses must format to text that parses back to an equal document.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "error.hpp"
#include "json_document.hpp"
#include "partial_stats.hpp"
#include "state_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    bnorm::parse_state(text);
  } catch (const bnorm::error&) {
  }
  nlohmann::ordered_json document;
  try {
    document = bnorm::parse_json_document(text);
  } catch (const bnorm::error&) {
    return 0;
  }
  try {
    bnorm::parse_partial(document);  // merge and --batch-stats read the same documents
  } catch (const bnorm::error&) {
  }
  // The parser refuses invalid UTF-8, so every document it returns can be written.
  const std::string formatted = bnorm::format_json_document(document);
  const nlohmann::ordered_json again = bnorm::parse_json_document(formatted);
  // NaN != NaN, so compare the formatted texts: equal documents format identically.
  if (bnorm::format_json_document(again) != formatted) std::abort();
  return 0;
}
