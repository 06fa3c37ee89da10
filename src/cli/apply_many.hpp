// SPDX-License-Identifier: Apache-2.0
// `bnorm apply` over many files: each input normalized into a file of its own name under one
// folder, all committed together with --stats-out or none; in train mode the files are
// successive batches whose running state is chained in memory.
#pragma once

#include <string>
#include <vector>

#include "apply_run.hpp"

namespace bnorm::cli {

/// Whether the command line asks for the run over many files: more than one input, an -o
/// that names a folder (an existing one, or a name ending in '/'), or --no-output.
bool applies_to_many(const std::vector<std::string>& inputs, const std::string& output,
                     bool no_output);

/// The routes of a run over `inputs`: DIR/<input's name> each (its extension that of
/// --output-format, when given), checked before anything is read: two inputs of one name,
/// standard input with a folder, an output over an input or another file of the run
/// (usage_error), a folder whose parent is missing (io_error).
void resolve_many(const apply_options& options, const std::vector<std::string>& inputs,
                  apply_run& run);

/// Runs `apply` over run.many; returns the exit status or throws bnorm::error, leaving every
/// output as it was.
int run_apply_many(const apply_run& run);

}  // namespace bnorm::cli
