// SPDX-License-Identifier: Apache-2.0
// Numbers from the command line, parsed strictly: CLI11 2.1 reads "010" as 8, saturates out of
// range values and lets "nan" through a range check, so bnorm reads flags as text.
#pragma once

#include <string>

namespace bnorm::cli {

/// A finite decimal number, the whole of `text`; throws usage_error naming `flag`.
double parse_finite(const std::string& text, const std::string& flag);

/// A decimal integer (optionally negative), the whole of `text`; throws usage_error.
long long parse_integer(const std::string& text, const std::string& flag);

}  // namespace bnorm::cli
