// SPDX-License-Identifier: Apache-2.0
// Runs that chain one state file (--state F --stats-out F) serialize on it, so that no
// update is lost to a concurrent run.
#pragma once

#include <memory>
#include <string>

#include "file_io.hpp"

namespace bnorm::cli {

/// When `stats_out` names the file `state` reads, waits for an exclusive lock on it, to hold
/// until the new state is committed; else nothing.  Where the file system gives no locks, warns
/// and goes on unlocked.  Throws io_error.
std::unique_ptr<file_lock> lock_state_update(const std::string& state,
                                             const std::string& stats_out);

}  // namespace bnorm::cli
