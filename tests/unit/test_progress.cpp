// SPDX-License-Identifier: Apache-2.0
// progress.hpp: every pass over a tensor reports its start, every value once, and its end,
// also when the pass fails, to whichever observer is installed.
#include <doctest/doctest.h>

#include <atomic>
#include <stdexcept>

#include "error.hpp"
#include "passes.hpp"
#include "progress.hpp"

namespace {

class counting_observer : public bnorm::progress_observer {
 public:
  void begin_pass(std::size_t values, std::size_t value_bytes) override {
    ++begun;
    total = values;
    bytes = value_bytes;
    done = 0;
  }
  void advance(std::size_t values) override {
    done += values;
    ++calls;
  }
  void end_pass() override { ++ended; }

  int begun = 0, ended = 0;
  std::size_t total = 0, bytes = 0;
  std::atomic<std::size_t> done{0}, calls{0};
};

// Installs an observer for one test case and removes it at the end, even on failure.
struct installed {
  explicit installed(bnorm::progress_observer& o) { bnorm::set_progress_observer(&o); }
  ~installed() { bnorm::set_progress_observer(nullptr); }
};

}  // namespace

TEST_CASE("progress: a pass on every core reports each value once, between begin and end") {
  counting_observer observer;
  const installed guard(observer);
  const std::size_t count = 3'000'001;  // several groups, so several threads, and a ragged end
  const auto source = bnorm::memory_source({bnorm::dtype::float32(), {count}, false},
                                           std::vector<double>(count, 1.0));
  bnorm::stream_groups(*source, true, [](std::size_t, std::size_t, double*, std::size_t) {});
  CHECK(observer.begun == 1);
  CHECK(observer.ended == 1);
  CHECK(observer.total == count);
  CHECK(observer.bytes == 4);
  CHECK(observer.done == count);
  CHECK(observer.calls > 1);
}

TEST_CASE("progress: a pass that fails still ends, so a progress bar is erased") {
  counting_observer observer;
  const installed guard(observer);
  const auto source =
      bnorm::memory_source({bnorm::dtype::float64(), {10}, false}, std::vector<double>(10, 0.0));
  CHECK_THROWS_AS(bnorm::stream_groups(*source, false,
                                       [](std::size_t, std::size_t, double*, std::size_t) {
                                         throw bnorm::data_error("bad value");
                                       }),
                  bnorm::data_error);
  CHECK(observer.begun == 1);
  CHECK(observer.ended == 1);
}

TEST_CASE("progress: without an observer, passes report to one that does nothing") {
  bnorm::set_progress_observer(nullptr);
  bnorm::progress_observer& fallback = bnorm::progress();
  fallback.begin_pass(5, 8);  // must be harmless
  fallback.advance(5);
  fallback.end_pass();
  counting_observer observer;
  bnorm::set_progress_observer(&observer);
  CHECK(&bnorm::progress() == &observer);
  bnorm::set_progress_observer(nullptr);
  CHECK(&bnorm::progress() == &fallback);
}
