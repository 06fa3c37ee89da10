// SPDX-License-Identifier: Apache-2.0
// The CLI's advice on a core error: the core states what is missing in the library's terms
// (error.hpp's faults), and the user reads which flag of the subcommand supplies it.
#pragma once

#include <string>
#include <string_view>

#include "error.hpp"

namespace bnorm::cli {

/// The line the user sees for `e`, raised while `subcommand` ran ("" before one was parsed):
/// its message, the words that state its fault replaced by advice that names the flags.
std::string advised_message(const bnorm::error& e, std::string_view subcommand);

}  // namespace bnorm::cli
