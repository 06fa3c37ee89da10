// SPDX-License-Identifier: Apache-2.0
// What `bnorm --version` prints: bnorm's version and what it was built with, for bug reports.
#pragma once

#include <string>

namespace bnorm::cli {

/// "bnorm 0.1.0" and a line per compiler and library, from their own version macros.
std::string version_text();

}  // namespace bnorm::cli
