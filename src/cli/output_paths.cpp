// SPDX-License-Identifier: Apache-2.0
#include "output_paths.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "error.hpp"
#include "file_io.hpp"

namespace bnorm::cli {
namespace {

struct identified {
  const file_role* role;
  file_identity id;
};

std::vector<identified> identify(const std::vector<file_role>& roles, int standard_fd) {
  std::vector<identified> out;
  for (const file_role& role : roles) {
    if (role.path.empty()) continue;
    out.push_back({&role, role.path == standard_stream ? identify_descriptor(standard_fd)
                                                       : identify_path(role.path)});
  }
  return out;
}

// Two outputs, or an output and an input, that would clash in this file: every kind but a
// character device, which takes writes as a stream and keeps nothing to destroy.
bool can_clash(const file_identity& id) {
  return id.known && !S_ISCHR(id.type);
}

std::string shown(const file_role& role, const char* standard_name) {
  return role.path == standard_stream ? standard_name : role.path;
}

[[noreturn]] void refuse(const file_role& output, const file_role& other, bool other_is_input) {
  throw usage_error(shown(output, "<stdout>") + ": " + output.flag + " names the same file as " +
                    other.flag + " " + shown(other, other_is_input ? "<stdin>" : "<stdout>") +
                    (other_is_input ? ": an output never overwrites an input"
                                    : ": each output needs a file of its own"));
}

}  // namespace

void check_output_paths(const std::vector<file_role>& inputs, const std::vector<file_role>& outputs,
                        const std::vector<in_place_rewrite>& allowed) {
  const std::vector<identified> read = identify(inputs, STDIN_FILENO);
  const std::vector<identified> written = identify(outputs, STDOUT_FILENO);
  for (std::size_t i = 0; i < written.size(); ++i) {
    const identified& out = written[i];
    for (std::size_t j = 0; j < i; ++j) {
      const identified& earlier = written[j];
      const bool both_stdout =
          out.role->path == standard_stream && earlier.role->path == standard_stream;
      if (both_stdout || (can_clash(out.id) && out.id == earlier.id)) {
        refuse(*out.role, *earlier.role, false);
      }
    }
    for (const identified& in : read) {
      // A missing input fails when it is opened, with its own error.
      if (!in.id.exists() || !can_clash(in.id) || !(in.id == out.id)) continue;
      const bool rewrite =
          out.role->path != standard_stream && descriptor_named(out.role->path) < 0 &&
          S_ISREG(in.id.type) &&
          std::any_of(allowed.begin(), allowed.end(), [&](const in_place_rewrite& a) {
            return a.output == out.role->flag && a.input == in.role->flag;
          });
      if (!rewrite) refuse(*out.role, *in.role, true);
    }
  }
}

}  // namespace bnorm::cli
