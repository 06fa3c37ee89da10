// SPDX-License-Identifier: Apache-2.0
// Shell completion scripts for bash and zsh, written from the command line's own definitions:
// subcommands, their options, the values an option lists (--mode train|eval), file names
// where an option or positional takes a FILE.
#pragma once

#include <string>

#include "cli11_forward.hpp"

namespace bnorm::cli {

/// A bash script defining the completion of `bnorm`; needs no bash-completion helpers.
std::string bash_completion(const CLI::App& app);

/// A zsh completion function (the file _bnorm in a folder of $fpath).
std::string zsh_completion(const CLI::App& app);

}  // namespace bnorm::cli
