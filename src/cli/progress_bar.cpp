// SPDX-License-Identifier: Apache-2.0
#include "progress_bar.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <mutex>

namespace bnorm::cli {
namespace {

constexpr auto redraw_interval = std::chrono::milliseconds(100);
// Before this much of a pass has passed, its duration is guessed from too little.
constexpr auto estimate_after = std::chrono::milliseconds(150);

// The width of the bar's line drawn last, for the signal handler (which cannot take locks).
std::atomic<int> line_fd{-1};
std::atomic<std::size_t> line_width{0};

void write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n <= 0) return;  // a progress bar is not worth an error
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

std::string bytes_text(double bytes) {
  static constexpr const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  while (bytes >= 1024 && unit < 4) {
    bytes /= 1024;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.1f %s", bytes, units[unit]);
  return text;
}

std::string duration_text(double seconds) {
  if (!std::isfinite(seconds) || seconds > 359999) return "--:--";
  const auto s = static_cast<long>(std::ceil(seconds));
  char text[32];
  if (s >= 3600) {
    std::snprintf(text, sizeof text, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  } else {
    std::snprintf(text, sizeof text, "%ld:%02ld", s / 60, s % 60);
  }
  return text;
}

// The terminal's width now (it may change during a run), or 80 when it does not say.
std::size_t terminal_width(int fd) {
  winsize size{};
  if (::ioctl(fd, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  return 80;
}

// Blanks `width` columns of the current line and returns to its start, without locks or
// allocation (the signal handler uses it).  Never more than the terminal is wide now: a line
// longer than that would wrap and leave its first row behind.
void blank_line(int fd, std::size_t width) {
  static constexpr char spaces[] = "                                                          ";
  width = std::min(width, terminal_width(fd) - 1);
  write_all(fd, "\r", 1);
  while (width > 0) {
    const std::size_t n = std::min(width, sizeof spaces - 1);
    write_all(fd, spaces, n);
    width -= n;
  }
  write_all(fd, "\r", 1);
}

}  // namespace

progress_bar::progress_bar(int fd, std::chrono::duration<double> threshold)
    : fd_(fd), threshold_(threshold) {}

progress_bar::~progress_bar() {
  erase();
}

void progress_bar::name_passes(const std::vector<std::string>& labels) {
  labels_.insert(labels_.end(), labels.begin(), labels.end());
}

void progress_bar::begin_pass(std::size_t values, std::size_t value_bytes) {
  label_ = pass_ < labels_.size() ? labels_[pass_] : "pass " + std::to_string(pass_ + 1);
  ++pass_;
  total_ = values;
  value_bytes_ = value_bytes;
  start_ = clock::now();
  done_ = 0;
  next_draw_ = start_.time_since_epoch().count();
  shown_ = false;
}

void progress_bar::advance(std::size_t values) {
  done_ += values;
  const clock::time_point now = clock::now();
  clock::rep due = next_draw_.load(std::memory_order_relaxed);
  if (now.time_since_epoch().count() < due) return;
  // One thread wins the right to draw this time; the others go back to work at once.
  const clock::rep next = (now + redraw_interval).time_since_epoch().count();
  if (!next_draw_.compare_exchange_strong(due, next)) return;
  if (!shown_) {
    // Drawn only for a pass expected to take longer than the threshold, judged from its rate
    // once a little of it has run: short runs stay silent even on a terminal.
    const std::chrono::duration<double> elapsed = now - start_;
    const double fraction = static_cast<double>(done_) / static_cast<double>(total_);
    bool show = true;
    if (threshold_.count() > 0) {
      show = elapsed >= estimate_after && fraction > 0 && fraction < 1 &&
             elapsed / fraction > threshold_;
    }
    if (!show) return;
    shown_ = true;
  }
  draw(now);
}

void progress_bar::end_pass() {
  erase();
}

void progress_bar::draw(clock::time_point now) {
  // A slow write may still be drawing the previous line: skip this one rather than wait.
  const std::unique_lock lock(draw_mutex_, std::try_to_lock);
  if (!lock) return;
  // In the background (`bnorm ... &`), the terminal belongs to the shell: draw nothing over
  // its prompt.  (A terminal that is not ours to control says -1: draw.)
  const pid_t foreground = ::tcgetpgrp(fd_);
  if (foreground != -1 && foreground != ::getpgrp()) return;
  const std::size_t done = std::min(done_.load(), total_);
  const double seconds = std::chrono::duration<double>(now - start_).count();
  const double fraction = total_ ? static_cast<double>(done) / static_cast<double>(total_) : 1;
  const double done_bytes = static_cast<double>(done * value_bytes_);
  const double rate = seconds > 0 ? done_bytes / seconds : 0;
  const double left =
      rate > 0 ? (static_cast<double>(total_ * value_bytes_) - done_bytes) / rate : INFINITY;
  char percent[8];
  std::snprintf(percent, sizeof percent, "%3d%%", static_cast<int>(fraction * 100));
  const std::string figures = std::string(" ") + percent + "  " + bytes_text(done_bytes) + "/" +
                              bytes_text(static_cast<double>(total_ * value_bytes_)) + "  " +
                              bytes_text(rate) + "/s  " + duration_text(left) + " left";
  const std::string head = "bnorm: " + label_ + " ";
  // One column short of the width: a line that fills it makes some terminals wrap.
  const std::size_t width = terminal_width(fd_) - 1;
  std::string line = head;
  if (head.size() + figures.size() + 8 <= width) {  // a bar narrower than 6 says nothing
    const std::size_t bar = std::min<std::size_t>(40, width - head.size() - figures.size() - 2);
    const auto full = static_cast<std::size_t>(fraction * static_cast<double>(bar));
    line += '[' + std::string(full, '#') + std::string(bar - full, '.') + ']';
  }
  line += figures;
  if (line.size() > width) line.resize(width);
  // Spaces cover what a longer previous line left, up to the width the terminal has now.
  const std::size_t covered = std::min(drawn_width_, width);
  std::string text = "\r" + line;
  if (line.size() < covered) text += std::string(covered - line.size(), ' ');
  drawn_width_ = std::max(covered, line.size());
  line_fd = fd_;
  line_width = drawn_width_;
  write_all(fd_, text.data(), text.size());
}

void progress_bar::erase() {
  if (drawn_width_ == 0) return;
  blank_line(fd_, drawn_width_);  // spaces, not an escape: any terminal
  drawn_width_ = 0;
  line_width = 0;
}

void erase_progress_line_for_signal() {
  const int fd = line_fd;
  const std::size_t width = line_width;
  if (fd < 0 || width == 0) return;
  blank_line(fd, width);
}

}  // namespace bnorm::cli
