// SPDX-License-Identifier: Apache-2.0
#include "progress.hpp"

namespace bnorm {
namespace {

progress_observer silent;
progress_observer* current = &silent;

}  // namespace

progress_observer& progress() {
  return *current;
}

void set_progress_observer(progress_observer* observer) {
  current = observer ? observer : &silent;
}

}  // namespace bnorm
