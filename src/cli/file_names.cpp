#include "file_names.hpp"

#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>

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

std::string lowercase_extension(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

}  // namespace bnorm::cli
