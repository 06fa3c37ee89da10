// SPDX-License-Identifier: Apache-2.0
// How bnorm writes numbers as text: the shortest decimal that reads back to the same value
// of the output type, and one rule for the values JSON cannot spell.
#pragma once

#include <string>

#include "dtype.hpp"

namespace bnorm {

/// Appends the shortest text that parses back to `value` rounded to floating `type`:
/// 0.1 as float32 prints "0.1", not "0.10000000149011612".  NaN and infinities are written
/// NaN, Infinity and -Infinity, as Python's json module writes and reads them; JSON itself
/// has no spelling for them, and null would lose the sign of an infinity.
void append_number(std::string& out, double value, dtype type);

/// append_number into a fresh string.
std::string format_number(double value, dtype type);

}  // namespace bnorm
