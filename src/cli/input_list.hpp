// SPDX-License-Identifier: Apache-2.0
// The inputs of a run over many files: paths on the command line, folders walked for the
// files bnorm reads, and lists of paths from a file or standard input (as find -print0 and
// xargs -0 give them), expanded into one list before anything is read.
#pragma once

#include <string>
#include <vector>

#include "cli11_forward.hpp"

namespace bnorm::cli {

/// How a subcommand's command line names its many inputs, as typed.
struct input_list_options {
  std::vector<std::string> paths;  ///< the positionals: files, folders, or "-"
  std::string files_from;          ///< --files-from LIST ("-": standard input); empty: none
  bool null_separated = false;     ///< -0: LIST's names end with NUL, not a newline
};

/// Adds --files-from LIST and -0 to `cmd` (the positionals are the subcommand's own).
void add_input_list_options(CLI::App* cmd, input_list_options& options);

/// Every input path, in the order given: each positional as it is, except that a folder
/// becomes the files under it (recursively, symlinked folders not followed) whose extension
/// names a format bnorm reads, in byte order of their paths; then the names --files-from
/// lists, in its order (a name there that is a folder is walked the same way).  A list's
/// lines are LF-terminated (a final line without one counts); empty lines are skipped; a
/// list read with -0 is split at NUL bytes instead.  Throws usage_error when nothing is
/// named at all, or a folder holds no such file, io_error for a list or folder that cannot
/// be read.  A line's final CR (a list written on Windows) is not part of its name.  Folders
/// are walked without the files and folders `outputs` names (a run's: -o DIR/, --stats-out),
/// so that a run again reads no output of the last.
std::vector<std::string> expand_inputs(const input_list_options& options,
                                       const std::vector<std::string>& outputs = {});

/// The inputs sorted into byte order, duplicates kept: the canonical order in which a run
/// whose result must not depend on the order given (stats, merge) combines them.
std::vector<std::string> canonical_order(std::vector<std::string> paths);

}  // namespace bnorm::cli
