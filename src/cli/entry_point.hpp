// SPDX-License-Identifier: Apache-2.0
// bnorm's run from the arguments to the exit status.  main() only calls it, so that this part,
// which needs CLI11, compiles with the other CLI11 files (see CMakeLists.txt's unity files).
#pragma once

namespace bnorm::cli {

/// Parses the command line, runs one subcommand, and turns every error into one line on
/// stderr and its exit status (exit_status.hpp).
int run_command_line(int argc, char** argv);

}  // namespace bnorm::cli
