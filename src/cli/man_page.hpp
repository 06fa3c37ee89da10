// SPDX-License-Identifier: Apache-2.0
// bnorm.1, written from the command line's own definitions (every subcommand and option, with
// the descriptions and defaults --help shows) and the prose of manual.cpp.
#pragma once

#include <string>

#include "cli11_forward.hpp"

namespace bnorm::cli {

/// The man page of `app` (bnorm's command line), in roff with the man macros.  Throws
/// std::invalid_argument on text it cannot typeset (a character outside ASCII it has no
/// name for), so that the build fails rather than the page.
std::string man_page(const CLI::App& app);

}  // namespace bnorm::cli
