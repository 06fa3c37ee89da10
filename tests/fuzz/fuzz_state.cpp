// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: arbitrary text as a --state file, as partial statistics, and as any small
// JSON document.  A
// document that parses must format to text that parses back to an equal document.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "batch_norm.hpp"
#include "convention.hpp"
#include "error.hpp"
#include "json_document.hpp"
#include "partial_stats.hpp"
#include "state_file.hpp"

namespace {

// Plans an eval step of a (2, C) batch with a state that parsed, C its longest vector: the
// state's own checks (lengths, NaN, infinite or negative running statistics) and their
// messages run on every state the parser accepts.
void plan_with(const bnorm::bn_state& state) {
  std::size_t channels = 1;
  for (const auto* v : {&state.weight, &state.bias, &state.running_mean, &state.running_var}) {
    if (v->size() > channels) channels = v->size();
  }
  bnorm::bn_config config = bnorm::default_config(bnorm::find_convention("torch"));
  config.mode = bnorm::bn_mode::eval;
  try {
    bnorm::plan_batch_norm({bnorm::dtype::float32(), {2, channels}, false}, config, state, false,
                           "x", "state");
  } catch (const bnorm::error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    plan_with(bnorm::parse_state(text).state);
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
