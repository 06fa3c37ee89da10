// SPDX-License-Identifier: Apache-2.0
// The progress bar drawn on a terminal while a pass over a large tensor runs.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <vector>

#include "progress.hpp"

namespace bnorm::cli {

/// Draws one line per pass on a file descriptor (a terminal): label, bar, percentage, bytes
/// done, rate and time left.  Redrawn at most ten times a second by whichever thread of the
/// pass reports when the time has come, drawn only when the pass is expected to take longer
/// than `threshold`, and erased when the pass ends, so that nothing of it stays on the screen.
class progress_bar : public progress_observer {
 public:
  progress_bar(int fd, std::chrono::duration<double> threshold);
  ~progress_bar() override;

  /// Names the passes after those already named, in order ("statistics", "normalize");
  /// passes without a name are "pass N".
  void name_passes(const std::vector<std::string>& labels);

  void begin_pass(std::size_t values, std::size_t value_bytes) override;
  void advance(std::size_t values) override;
  void end_pass() override;

 private:
  using clock = std::chrono::steady_clock;
  void draw(clock::time_point now);
  void erase();

  int fd_;
  std::chrono::duration<double> threshold_;
  std::vector<std::string> labels_;
  std::size_t pass_ = 0;
  std::string label_;
  std::size_t total_ = 0;
  std::size_t value_bytes_ = 1;
  clock::time_point start_;
  std::atomic<std::size_t> done_{0};
  std::atomic<clock::rep> next_draw_{0};  // clock ticks; a thread that moves it draws
  std::atomic<bool> shown_{false};
  std::mutex draw_mutex_;
  std::size_t drawn_width_ = 0;  // of the longest line drawn in this pass
};

/// Erases the line of the progress bar being drawn, if any; async-signal-safe, for the
/// terminating-signal handler.
void erase_progress_line_for_signal();

}  // namespace bnorm::cli
