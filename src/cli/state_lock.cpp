// SPDX-License-Identifier: Apache-2.0
#include "state_lock.hpp"

#include <cstring>
#include <iostream>

namespace bnorm::cli {

std::unique_ptr<file_lock> lock_state_update(const std::string& state,
                                             const std::string& stats_out) {
  if (state.empty() || stats_out.empty() || state == standard_stream) return nullptr;
  const file_identity id = identify_path(state);
  if (!id.exists() || !(id == identify_path(stats_out))) return nullptr;
  auto lock = std::make_unique<file_lock>(state);
  if (lock->unavailable() != 0) {
    // Refusing would make such a file system unusable for the most common run, which has no
    // competitor; the warning says what is not guaranteed.
    std::cerr << "bnorm: warning: " << state << ": cannot lock ("
              << std::strerror(lock->unavailable())
              << "): a run updating it at the same time could lose this update\n";
  }
  return lock;
}

}  // namespace bnorm::cli
