// SPDX-License-Identifier: Apache-2.0
// How the command line writes a double in reports, notes and warnings: one rule for all.
#pragma once

#include <string>

#include "dtype.hpp"
#include "number_format.hpp"

namespace bnorm::cli {

/// The shortest text that reads back to `value` as a double ("0.1", "1e-05", "NaN").
inline std::string number_text(double value) {
  return format_number(value, dtype::float64());
}

}  // namespace bnorm::cli
