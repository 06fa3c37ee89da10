// SPDX-License-Identifier: Apache-2.0
#include "dataset_stats.hpp"

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "batch_norm.hpp"
#include "count_text.hpp"
#include "double_double.hpp"
#include "error.hpp"
#include "passes.hpp"

namespace bnorm {
namespace {

// Values decoded at once by the per-sample pass: a few hundred KiB of doubles.
constexpr std::size_t sample_chunk = 1 << 15;
// A Fortran-order member with at most this many (sample, channel) pairs is measured in one
// pass; one with more, a block of at most gather_values values at a time.
constexpr std::size_t max_sample_channels = 1 << 16;
constexpr std::size_t gather_values = 1 << 20;

// One member's figures: its moments alone, and its samples' sums.
struct member_result {
  std::size_t index = 0;
  tensor_info info;
  channel_layout layout;
  std::string name;
  std::vector<channel_moments> moments;
  std::uint64_t samples = 0;
  std::vector<double_double> mean_sum, std_sum, std_unbiased_sum;
  std::exception_ptr failure;
};

void add_sample(member_result& r, const std::vector<channel_moments>& sample) {
  for (std::size_t c = 0; c < sample.size(); ++c) {
    r.mean_sum[c] = r.mean_sum[c] + sample[c].mean;
    r.std_sum[c] = r.std_sum[c] + std::sqrt(sample[c].var());
    r.std_unbiased_sum[c] = r.std_unbiased_sum[c] + std::sqrt(sample[c].var_unbiased());
  }
  ++r.samples;
}

// A sample is one index of the first axis; a member whose channel axis is the first is one
// sample.  In C order a sample's values are one block of the file; in Fortran order the first
// axis varies fastest, so the samples interleave.
void measure_samples(const tensor_source& source, member_result& r) {
  const channel_layout& layout = r.layout;
  const std::size_t channels = layout.channels;
  r.mean_sum.assign(channels, {});
  r.std_sum.assign(channels, {});
  r.std_unbiased_sum.assign(channels, {});
  const std::size_t elements = layout.element_count();
  const std::size_t samples = layout.axis == 0 ? 1 : r.info.shape[0];
  if (elements == 0 || samples == 0) return;
  std::vector<double> chunk(std::min(sample_chunk, elements));
  const bool extended = wants_extended_moments(r.info);
  if (samples == 1 || !r.info.fortran_order) {
    const std::size_t block = elements / samples;
    channel_layout sample_layout = layout;
    sample_layout.outer = layout.outer / samples;
    for (std::size_t s = 0; s < samples; ++s) {
      moments_accumulator acc(channels, extended);
      for (std::size_t done = 0; done < block;) {
        const std::size_t n = std::min(chunk.size(), block - done);
        source.read_at(s * block + done, std::span<double>(chunk.data(), n));
        accumulate(sample_layout, done, chunk.data(), n, acc);
        done += n;
      }
      add_sample(r, acc.moments());
    }
    return;
  }
  // Fortran order: the first axis varies fastest, so the samples interleave.  Few samples
  // and channels: one pass in file order, channel c of sample s accumulated as channel
  // c·samples + s.
  if (samples * channels <= max_sample_channels) {
    moments_accumulator acc(channels * samples, extended);
    for (std::size_t first = 0; first < elements;) {
      const std::size_t n = std::min(chunk.size(), elements - first);
      source.read_at(first, std::span<double>(chunk.data(), n));
      for (std::size_t i = 0; i < n;) {
        const std::size_t p = first + i;
        const std::size_t c = layout.channel_at(p), s = p % samples;
        const std::size_t run = std::min({layout.inner - p % layout.inner, samples - s, n - i});
        acc.add_interleaved(c * samples + s, chunk.data() + i, run);
        i += run;
      }
      first += n;
    }
    const std::vector<channel_moments> all = acc.moments();
    std::vector<channel_moments> sample(channels);
    for (std::size_t s = 0; s < samples; ++s) {
      for (std::size_t c = 0; c < channels; ++c) sample[c] = all[c * samples + s];
      add_sample(r, sample);
    }
    return;
  }
  // Many (a table of a million rows): a block of samples at a time, whose values lie side by
  // side at every `samples`-th position, gathered sample by sample; a sample alone is the
  // Fortran-order tensor without the first axis.
  const std::size_t per_sample = elements / samples;
  const std::size_t block = std::clamp<std::size_t>(gather_values / per_sample, 1, samples);
  channel_layout sample_layout = layout;
  sample_layout.inner = layout.inner / samples;
  std::vector<double> gathered(block * per_sample), values(per_sample);
  for (std::size_t s0 = 0; s0 < samples; s0 += block) {
    const std::size_t count = std::min(block, samples - s0);
    for (std::size_t j = 0; j < per_sample; ++j) {
      source.read_at(s0 + j * samples, std::span<double>(gathered.data() + j * count, count));
    }
    for (std::size_t s = 0; s < count; ++s) {
      for (std::size_t j = 0; j < per_sample; ++j) values[j] = gathered[j * count + s];
      moments_accumulator acc(channels, extended);
      accumulate(sample_layout, 0, values.data(), per_sample, acc);
      add_sample(r, acc.moments());
    }
  }
}

member_result measure(const dataset_request& request, const member_opener& open,
                      std::size_t index) {
  member_result r;
  r.index = index;
  try {
    dataset_member member = open(index);
    r.name = member.name;
    r.info = member.source->info();
    r.layout = batch_layout(r.info, request.axis, member.name);
    grouped_moments moments(pass_group_count(r.layout.element_count()), r.layout.channels,
                            wants_extended_moments(r.info));
    stream_groups(*member.source, false,
                  [&](std::size_t g, std::size_t p, double* x, std::size_t n) {
                    accumulate(r.layout, p, x, n, moments.group(g));
                  });
    r.moments = moments.merged();
    if (request.per_sample) measure_samples(*member.source, r);
  } catch (...) {
    r.failure = std::current_exception();
  }
  return r;
}

void check_agreement(const member_result& first, const member_result& r) {
  if (r.layout.axis != first.layout.axis) {
    throw data_error(r.name + ": channel axis " + std::to_string(r.layout.axis) + " (shape " +
                     shape_to_string(r.info.shape) + "), but " + first.name + "'s is " +
                     std::to_string(first.layout.axis) + " (shape " +
                     shape_to_string(first.info.shape) + ")");
  }
  if (r.layout.channels != first.layout.channels) {
    throw data_error(r.name + ": " + count_text(r.layout.channels, "channel") + ", but " +
                     first.name + " has " + std::to_string(first.layout.channels));
  }
  if (std::string(class_name_of(r.info.type)) != class_name_of(first.info.type)) {
    throw data_error(r.name + ": " + name_of(r.info.type) + " (" + class_name_of(r.info.type) +
                     "), but " + first.name + " is " + name_of(first.info.type) + " (" +
                     class_name_of(first.info.type) + ")");
  }
}

// Takes members' results in any order and folds them in index order.
class ordered_fold {
 public:
  ordered_fold(const dataset_request& request, dataset_statistics& out)
      : request_(request), out_(out) {}

  // Folds r if it is next, then whatever waited for it; throws the first failure in order.
  void take(member_result r) {
    waiting_.emplace(r.index, std::move(r));
    for (auto it = waiting_.find(next_); it != waiting_.end(); it = waiting_.find(next_)) {
      member_result m = std::move(it->second);
      waiting_.erase(it);
      ++next_;
      fold(m);
    }
  }
  std::size_t folded() const { return next_; }
  std::vector<channel_moments> total() const { return tree_.total(); }

 private:
  void fold(member_result& r) {
    if (r.failure) std::rethrow_exception(r.failure);
    if (r.index == 0) {
      first_ = r;
      first_.moments.clear();
      out_.first = r.info;
      out_.layout = r.layout;
      sums_[0] = r.mean_sum;
      sums_[1] = r.std_sum;
      sums_[2] = r.std_unbiased_sum;
      samples_ = 0;
    } else {
      check_agreement(first_, r);
      for (std::size_t c = 0; c < r.mean_sum.size(); ++c) {
        sums_[0][c] = sums_[0][c] + r.mean_sum[c];
        sums_[1][c] = sums_[1][c] + r.std_sum[c];
        sums_[2][c] = sums_[2][c] + r.std_unbiased_sum[c];
      }
    }
    samples_ += r.samples;
    if (request_.progress) request_.progress->advance(r.info.size_in_bytes());
    tree_.push(std::move(r.moments));
  }

 public:
  void finish() {
    out_.channels = tree_.total();
    if (!request_.per_sample) return;
    per_sample_moments& p = out_.per_sample;
    p.samples = samples_;
    const auto average = [&](const std::vector<double_double>& sums) {
      std::vector<double> v;
      for (const double_double& s : sums) v.push_back(to_double(s / static_cast<double>(samples_)));
      return v;
    };
    p.mean = average(sums_[0]);
    p.std = average(sums_[1]);
    p.std_unbiased = average(sums_[2]);
  }

 private:
  const dataset_request& request_;
  dataset_statistics& out_;
  std::map<std::size_t, member_result> waiting_;
  std::size_t next_ = 0;
  member_result first_;
  std::vector<double_double> sums_[3];
  std::uint64_t samples_ = 0;
  moments_tree tree_;
};

}  // namespace

void moments_tree::push(std::vector<channel_moments> member) {
  stack_.push_back({0, std::move(member)});
  while (stack_.size() >= 2 && stack_[stack_.size() - 2].level == stack_.back().level) {
    node right = std::move(stack_.back());
    stack_.pop_back();
    node& left = stack_.back();
    for (std::size_t c = 0; c < left.moments.size(); ++c) {
      left.moments[c] = merge(left.moments[c], right.moments[c]);
    }
    ++left.level;
  }
}

std::vector<channel_moments> moments_tree::total() const {
  if (stack_.empty()) return {};
  std::vector<channel_moments> total = stack_.back().moments;
  for (std::size_t i = stack_.size() - 1; i-- > 0;) {
    const std::vector<channel_moments>& left = stack_[i].moments;
    for (std::size_t c = 0; c < total.size(); ++c) total[c] = merge(left[c], total[c]);
  }
  return total;
}

dataset_statistics dataset_statistics_of(const dataset_request& request,
                                         const member_opener& open) {
  dataset_statistics out;
  out.files = request.members;
  struct pass_guard {
    progress_observer* observer;
    ~pass_guard() {
      if (observer) observer->end_pass();
    }
  } guard{request.progress};
  if (request.progress) request.progress->begin_pass(request.bytes, 1);
  ordered_fold fold(request, out);
  const std::size_t threads = std::min<std::size_t>(std::max(1u, request.threads), request.members);
  if (threads <= 1) {
    for (std::size_t i = 0; i < request.members; ++i) fold.take(measure(request, open, i));
    fold.finish();
    return out;
  }
  // Members are handed out in index order, and none starts more than `window` ahead of the
  // next to be folded, so that a slow member holds back at most that many results.
  const std::size_t window = 4 * threads;
  std::mutex mutex;
  std::condition_variable room;
  std::size_t next = 0;
  bool stop = false;
  std::exception_ptr failure;
  const auto worker = [&] {
    for (;;) {
      std::size_t index;
      {
        std::unique_lock lock(mutex);
        room.wait(lock,
                  [&] { return stop || next >= request.members || next < fold.folded() + window; });
        if (stop || next >= request.members) return;
        index = next++;
      }
      member_result r = measure(request, open, index);
      const std::lock_guard lock(mutex);
      if (stop) return;
      try {
        fold.take(std::move(r));
      } catch (...) {
        failure = std::current_exception();
        stop = true;
      }
      room.notify_all();
    }
  };
  std::vector<std::thread> pool;
  for (std::size_t t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (std::thread& thread : pool) thread.join();
  if (failure) std::rethrow_exception(failure);
  fold.finish();
  return out;
}

}  // namespace bnorm
