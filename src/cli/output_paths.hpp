// SPDX-License-Identifier: Apache-2.0
// No output may destroy an input or another output: every path a run writes is checked
// against every path it reads and writes, by the file it leads to, before anything is written.
#pragma once

#include <string>
#include <vector>

namespace bnorm::cli {

/// A file of a run, as the command line names it.
struct file_role {
  std::string flag;  // how messages name it: "INPUT", "--state", "-o"
  std::string path;  // as given ("-": standard input or output); empty when not asked for
};

/// An output that may name one input: the output is that input's new version ("-o" over
/// INPUT, "--stats-out" over "--state"), written beside it and renamed over it.
struct in_place_rewrite {
  std::string output;
  std::string input;
};

/// Refuses (usage_error, naming both flags and paths) an output that names the same file as
/// an input, unless the pair is an `allowed` rewrite of a regular file by path (not by a
/// descriptor's name, such as /dev/stdout, which is written directly), or as another
/// output.  Files are compared through symbolic links, hard links and "..": existing ones by
/// device and inode, new ones by their folder's and their name.  Character devices
/// (/dev/null, a terminal) take any number of outputs; "-" may be given to one output only.
void check_output_paths(const std::vector<file_role>& inputs, const std::vector<file_role>& outputs,
                        const std::vector<in_place_rewrite>& allowed = {});

}  // namespace bnorm::cli
