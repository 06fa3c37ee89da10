// SPDX-License-Identifier: Apache-2.0
#include "passes.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>

#include "progress.hpp"

namespace bnorm {
namespace {

// Values decoded, processed and encoded at a time: 512 KiB of doubles, which stay in the L2
// cache from decoding to encoding, so memory sees each byte once per pass.  The file is read
// and written in blocks as large (256 KiB of float32), which the kernel serves with large
// page-cache folios: a 256 MiB eval run took 0.20 s of wall time with 128 KiB chunks and 0.15
// s with these, against 0.15 s for cp (measured side by side).  Four times larger was no
// faster and left the cache.
constexpr std::size_t chunk_values = 1 << 16;

// Inputs of at least this many values are split into `work_groups` contiguous groups.
constexpr std::size_t parallel_threshold = 1 << 20;
constexpr std::size_t work_groups = 8;

struct position_range {
  std::size_t first, last;
};

std::vector<position_range> partition(std::size_t count) {
  if (count < parallel_threshold) return {{0, count}};
  std::vector<position_range> groups;
  const std::size_t size = (count / work_groups + chunk_values - 1) / chunk_values * chunk_values;
  for (std::size_t first = 0; first < count; first += size) {
    groups.push_back({first, std::min(count, first + size)});
  }
  return groups;
}

// Runs task(i) for i in [0, tasks): on up to hardware_concurrency threads when `parallel`,
// else in order on this thread.  The first exception a task throws is rethrown here.
template <typename Task>
void run_tasks(std::size_t tasks, bool parallel, Task&& task) {
  const std::size_t threads =
      parallel ? std::min<std::size_t>(tasks, std::max(1u, std::thread::hardware_concurrency()))
               : 1;
  if (threads <= 1) {
    for (std::size_t i = 0; i < tasks; ++i) task(i);
    return;
  }
  std::atomic<std::size_t> next{0};
  std::exception_ptr failure;
  std::mutex failure_mutex;
  const auto worker = [&] {
    for (std::size_t i; (i = next.fetch_add(1)) < tasks;) {
      try {
        task(i);
      } catch (...) {
        const std::lock_guard lock(failure_mutex);
        if (!failure) failure = std::current_exception();
        next = tasks;  // hand out no more work
      }
    }
  };
  std::vector<std::thread> pool;
  for (std::size_t t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (std::thread& thread : pool) thread.join();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace

std::size_t pass_group_count(std::size_t elements) {
  return partition(elements).size();
}

void stream_groups(const tensor_source& source, bool parallel, const chunk_visitor& visit) {
  const std::vector<position_range> groups = partition(source.info().element_count());
  const progress_pass pass(source.info().element_count(), source.info().type.size);
  run_tasks(groups.size(), parallel, [&](std::size_t g) {
    const position_range& range = groups[g];
    // Not zeroed: read_at overwrites it (zeroing 512 KiB per group cost 2 % of a dataset's run).
    const std::size_t size = std::min(chunk_values, range.last - range.first);
    const std::unique_ptr<double[]> chunk = std::make_unique_for_overwrite<double[]>(size);
    for (std::size_t p = range.first; p < range.last; p += size) {
      const std::size_t n = std::min(size, range.last - p);
      source.read_at(p, std::span<double>(chunk.get(), n));
      visit(g, p, chunk.get(), n);
      pass.advance(n);
    }
  });
}

void accumulate(const channel_layout& layout, std::size_t position, const double* values,
                std::size_t count, moments_accumulator& acc) {
  if (layout.inner == 1) {
    acc.add_interleaved(layout.channel_at(position), values, count);
    return;
  }
  // Runs two at a time, which the accumulator measures side by side.
  const auto run_at = [&](std::size_t i) {
    return std::min(layout.inner - (position + i) % layout.inner, count - i);
  };
  std::size_t i = 0;
  while (i < count) {
    const std::size_t run = run_at(i), next = i + run;
    if (next == count) {
      acc.add(layout.channel_at(position + i), values + i, run);
      break;
    }
    const std::size_t next_run = run_at(next);
    acc.add_two(layout.channel_at(position + i), values + i, run,
                layout.channel_at(position + next), values + next, next_run);
    i = next + next_run;
  }
}

bool wants_extended_moments(const tensor_info& info) {
  return info.type.kind == scalar_kind::floating && info.type.size == 8;
}

grouped_moments::grouped_moments(std::size_t groups, std::size_t channels, bool extended)
    : groups_(groups, moments_accumulator(channels, extended)) {}

std::vector<channel_moments> grouped_moments::merged() const {
  std::vector<channel_moments> total = groups_.front().moments();
  for (std::size_t g = 1; g < groups_.size(); ++g) {
    const std::vector<channel_moments> next = groups_[g].moments();
    for (std::size_t c = 0; c < total.size(); ++c) total[c] = merge(total[c], next[c]);
  }
  return total;
}

std::vector<channel_moments> channel_moments_of(const tensor_source& source,
                                                const channel_layout& layout) {
  grouped_moments moments(pass_group_count(layout.element_count()), layout.channels,
                          wants_extended_moments(source.info()));
  stream_groups(source, true, [&](std::size_t g, std::size_t p, double* x, std::size_t n) {
    accumulate(layout, p, x, n, moments.group(g));
  });
  return moments.merged();
}

}  // namespace bnorm
