// SPDX-License-Identifier: Apache-2.0
// Small JSON documents (state and statistics files): read into nlohmann::ordered_json with
// bnorm's number rules, and written back with them.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace bnorm {

/// Parses a JSON document.  Unlike nlohmann's own parser it accepts the non-finite words bnorm
/// writes (NaN, Infinity, -Infinity), refuses duplicate keys and nesting deeper than 64, and
/// reports errors as line:column.  Integers that fit int64 stay integers.
nlohmann::ordered_json parse_json_document(std::string_view text);

/// Writes a document with two-space indentation, arrays of numbers on one line, every
/// floating-point number as the shortest float64 text (non-finite as NaN/Infinity).
std::string format_json_document(const nlohmann::ordered_json& document);

}  // namespace bnorm
