// SPDX-License-Identifier: Apache-2.0
// How long work reports how far it has got, without the core knowing who listens: the command
// line draws a progress bar from it, tests and library users get nothing unless they ask.
#pragma once

#include <cstddef>

namespace bnorm {

/// Receives the progress of the passes over a tensor.  The default does nothing.
class progress_observer {
 public:
  virtual ~progress_observer() = default;
  /// A pass over `values` values of `value_bytes` bytes each begins.
  virtual void begin_pass(std::size_t /*values*/, std::size_t /*value_bytes*/) {}
  /// `values` more values are done.  Called from every thread of the pass at once, so it must
  /// be thread-safe and cheap (once per cache-sized chunk).
  virtual void advance(std::size_t /*values*/) {}
  /// The pass ended, finished or not (an exception may be on its way).
  virtual void end_pass() {}
};

/// The observer passes report to: the one last given to set_progress_observer, else one that
/// does nothing.  Set it before any pass starts, from one thread.
progress_observer& progress();

/// Makes `observer` (not owned; nullptr: none) receive the progress of every later pass.
void set_progress_observer(progress_observer* observer);

/// Reports one pass: begins it on construction and ends it on destruction, also when the pass
/// is left by an exception, so a progress bar is never left half drawn.
class progress_pass {
 public:
  progress_pass(std::size_t values, std::size_t value_bytes) : observer_(progress()) {
    observer_.begin_pass(values, value_bytes);
  }
  ~progress_pass() { observer_.end_pass(); }
  progress_pass(const progress_pass&) = delete;
  progress_pass& operator=(const progress_pass&) = delete;
  void advance(std::size_t values) const { observer_.advance(values); }

 private:
  progress_observer& observer_;
};

}  // namespace bnorm
