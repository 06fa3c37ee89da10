// SPDX-License-Identifier: Apache-2.0
// How a run speaks of the files its command line names, and what no file argument may be.
#pragma once

#include <string>

namespace bnorm::cli {

/// How messages name a path: "<stdin>" for "-".
std::string input_name(const std::string& path);

/// Throws io_error "PATH: Is a directory" when `path` names a folder, whatever its name says.
void refuse_directory(const std::string& path);

}  // namespace bnorm::cli
