// SPDX-License-Identifier: Apache-2.0
// bnorm's exit statuses, the same for every subcommand (docs/EXIT-STATUS.md).
#pragma once

namespace bnorm::cli {

enum exit_status : int {
  exit_ok = 0,
  exit_different = 1,  ///< compare: the files differ (like cmp and diff)
  exit_usage = 2,      ///< a bad flag or value
  exit_data = 3,       ///< a malformed or unsupported file, or data inconsistent with the command
  exit_io = 4,         ///< a file that cannot be read or written
};

}  // namespace bnorm::cli
