// SPDX-License-Identifier: Apache-2.0
#include "archive_rewrite.hpp"

#include <sys/stat.h>

#include <algorithm>

#include "error.hpp"
#include "file_io.hpp"
#include "formats/registry.hpp"
#include "quoted_name.hpp"

namespace bnorm::cli {
namespace {

// Only a regular file is replaced: a device or a FIFO is written where it is.
bool same_regular_file(const file_role& output, const file_role& input) {
  if (output.path.empty() || input.path.empty() || output.path == standard_stream ||
      input.path == standard_stream) {
    return false;
  }
  const file_identity in = identify_path(input.path);
  return in.type == S_IFREG && in == identify_path(output.path);
}

// The names of the tensors `input` holds, when it is a file of named tensors; else none.
std::vector<std::string> named_tensors(const file_role& input, const codec* named) {
  opened_input file;
  try {
    file = open_input(input.path, named);
  } catch (const usage_error&) {
    return {};  // no format to tell: the run says so when it reads the input
  }
  if (!file.format->holds_many) return {};
  return file.format->open(std::move(file.file), {})->names();
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

void check_archive_rewrite(const file_role& output, const file_role& input, const codec* named,
                           const std::vector<std::string>& rewritten) {
  if (!same_regular_file(output, input)) return;
  std::vector<std::string> dropped;
  for (const std::string& name : named_tensors(input, named)) {
    if (std::find(rewritten.begin(), rewritten.end(), name) == rewritten.end()) {
      dropped.push_back(name);
    }
  }
  if (!dropped.empty()) refuse_dropping(output, input, dropped);
}

bool updates_in_place(const file_role& output, const file_role& input) {
  if (!same_regular_file(output, input)) return false;
  try {
    const opened_input file = open_input(input.path);
    return file.format->holds_many && file.format->update_set != nullptr;
  } catch (const usage_error&) {
    return false;  // no format to tell: the run says so when it reads the input
  }
}

void check_single_tensor_rewrite(const file_role& output, const file_role& input,
                                 const codec* named, const std::string& tensor) {
  if (!same_regular_file(output, input)) return;
  std::vector<std::string> names = named_tensors(input, named);
  if (names.size() <= 1) return;
  std::erase(names, tensor);
  refuse_dropping(output, input, names);
}

}  // namespace bnorm::cli
