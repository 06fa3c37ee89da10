#include "archive_rewrite.hpp"

#include <algorithm>

#include "error.hpp"
#include "file_io.hpp"
#include "quoted_name.hpp"
#include "tensor_archive.hpp"

namespace bnorm::cli {
namespace {

bool same_existing_file(const file_role& output, const file_role& input) {
  if (output.path.empty() || input.path.empty() || output.path == standard_stream ||
      input.path == standard_stream) {
    return false;
  }
  const file_identity in = identify_path(input.path);
  return in.exists() && in == identify_path(output.path);
}

void refuse_dropping(const file_role& output, const file_role& input,
                     const std::vector<std::string>& dropped) {
  std::string names;
  for (std::size_t i = 0; i < dropped.size() && i < 3; ++i) {
    names += (i > 0 ? ", " : "") + quoted_name(dropped[i]);
  }
  if (dropped.size() > 3) names += ", ...";
  throw usage_error(output.path + ": " + output.flag + " names the same file as " + input.flag +
                    ", and rewriting it would drop its other tensors (" + names +
                    "): write to another file");
}

}  // namespace

void check_archive_rewrite(const file_role& output, const file_role& input, tensor_format format,
                           const std::vector<std::string>& rewritten) {
  if (!is_archive(format) || !same_existing_file(output, input)) return;
  std::vector<std::string> dropped;
  for (const std::string& name : open_archive(input.path, format)->names()) {
    if (std::find(rewritten.begin(), rewritten.end(), name) == rewritten.end()) {
      dropped.push_back(name);
    }
  }
  if (!dropped.empty()) refuse_dropping(output, input, dropped);
}

void check_single_tensor_rewrite(const file_role& output, const file_role& input,
                                 tensor_format format, const std::string& tensor) {
  if (!is_archive(format) || !same_existing_file(output, input)) return;
  std::vector<std::string> names = open_archive(input.path, format)->names();
  if (names.size() <= 1) return;
  std::erase(names, tensor);
  refuse_dropping(output, input, names);
}

}  // namespace bnorm::cli
