// SPDX-License-Identifier: Apache-2.0
#include "file_names.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "error.hpp"
#include "file_io.hpp"

namespace bnorm::cli {

std::string input_name(const std::string& path) {
  return path == standard_stream ? "<stdin>" : path;
}

void refuse_directory(const std::string& path) {
  struct stat st {};
  if (path != standard_stream && ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    throw io_error(path + ": " + std::strerror(EISDIR));
  }
}

}  // namespace bnorm::cli
