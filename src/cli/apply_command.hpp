// SPDX-License-Identifier: Apache-2.0
// `bnorm apply`: normalize a tensor file with one batch-normalization step.
#pragma once

#include "apply_run.hpp"
#include "cli11_forward.hpp"

namespace bnorm::cli {

/// Adds the `apply` subcommand and its flags to `app`, storing into `options`.
CLI::App* add_apply_command(CLI::App& app, apply_options& options);

/// Validates the flags, their formats and their paths, before any tensor is read.  Throws
/// usage_error for a contradiction, io_error for a directory given as a file.
apply_run resolve(const apply_options& options);

/// Runs `apply`; returns the exit status or throws bnorm::error.
int run_apply(const apply_run& run);

}  // namespace bnorm::cli
