#include "batch_norm.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <mutex>
#include <thread>

#include "error.hpp"

namespace bnorm {
namespace {

// Values decoded, normalized and encoded at a time: 128 KiB of doubles, which stay in the L2
// cache from decoding to encoding, so memory sees each byte of data once per pass.
constexpr std::size_t chunk_values = 1 << 14;

// Inputs of at least this many values are split into `work_groups` contiguous groups, each
// accumulated in order by one thread and merged in order: the statistics are then the same
// for any number of threads, bit for bit.
constexpr std::size_t parallel_threshold = 1 << 20;
constexpr std::size_t work_groups = 8;

// Per channel, y = (x − center) · scale + offset, all in double.  Subtracting the center
// before scaling keeps full precision when |mean| ≫ std, and gives exactly β for a channel
// whose values all equal its mean.
struct channel_transform {
  std::vector<double> center, scale, offset;
};

channel_transform make_transform(const bn_plan& plan, const std::vector<channel_moments>& batch) {
  const std::size_t channels = plan.layout.channels;
  channel_transform t{std::vector<double>(channels), std::vector<double>(channels),
                      std::vector<double>(channels)};
  for (std::size_t c = 0; c < channels; ++c) {
    const bool use_batch = plan.normalize_with_batch_stats;
    const double mean = use_batch ? batch[c].mean : plan.state.running_mean[c];
    const double var = use_batch ? batch[c].var() : plan.state.running_var[c];
    const double invstd = 1.0 / std::sqrt(var + plan.config.eps);
    t.center[c] = mean;
    t.scale[c] = invstd * plan.state.weight[c];
    t.offset[c] = plan.state.bias[c];
  }
  return t;
}

// Calls fn(channel, first, count) for each run of one channel's values in a chunk that
// starts at file position `position`.
template <typename Fn>
void for_each_run(const channel_layout& layout, std::size_t position, std::size_t count, Fn&& fn) {
  std::size_t i = 0;
  while (i < count) {
    const std::size_t p = position + i;
    const std::size_t run = std::min(layout.inner - p % layout.inner, count - i);
    fn(layout.channel_at(p), i, run);
    i += run;
  }
}

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
        next = tasks;  // stop handing out work
      }
    }
  };
  std::vector<std::thread> pool;
  for (std::size_t t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (std::thread& thread : pool) thread.join();
  if (failure) std::rethrow_exception(failure);
}

// Feeds a chunk's values to `acc`, channel by channel.
void accumulate(const channel_layout& layout, std::size_t position, const double* values,
                std::size_t count, moments_accumulator& acc) {
  if (layout.inner == 1) {
    acc.add_interleaved(layout.channel_at(position), values, count);
    return;
  }
  for_each_run(layout, position, count, [&](std::size_t c, std::size_t first, std::size_t n) {
    acc.add(c, values + first, n);
  });
}

// y = (x − center)·scale + offset for a chunk, in place.
void normalize(const channel_layout& layout, const channel_transform& t, std::size_t position,
               double* x, std::size_t count) {
  if (layout.inner == 1) {
    std::size_t c = layout.channel_at(position);
    for (std::size_t i = 0; i < count; ++i) {
      x[i] = (x[i] - t.center[c]) * t.scale[c] + t.offset[c];
      if (++c == layout.channels) c = 0;
    }
    return;
  }
  for_each_run(layout, position, count, [&](std::size_t c, std::size_t first, std::size_t n) {
    const double center = t.center[c], scale = t.scale[c], offset = t.offset[c];
    double* run = x + first;
    for (std::size_t i = 0; i < n; ++i) run[i] = (run[i] - center) * scale + offset;
  });
}

// Merges per-group moments, in group order.
std::vector<channel_moments> merge_groups(const std::vector<std::vector<channel_moments>>& groups) {
  std::vector<channel_moments> total = groups.front();
  for (std::size_t g = 1; g < groups.size(); ++g) {
    for (std::size_t c = 0; c < total.size(); ++c) total[c] = merge(total[c], groups[g][c]);
  }
  return total;
}

void check_length(const std::vector<double>& values, const char* key, std::size_t channels,
                  const std::string& state_name) {
  if (!values.empty() && values.size() != channels) {
    throw data_error(state_name + ": " + key + " has " + std::to_string(values.size()) +
                     " values, but the input has " + std::to_string(channels) + " channels");
  }
}

void fill_default(std::vector<double>& values, std::size_t channels, double value) {
  if (values.empty()) values.assign(channels, value);
}

}  // namespace

bn_config default_config(const convention& conv) {
  bn_config config;
  config.conv = &conv;
  config.eps = conv.eps;
  config.momentum = conv.momentum;
  config.axis = conv.axis;
  return config;
}

bn_plan plan_batch_norm(const tensor_info& input, const bn_config& config, bn_state state,
                        bool want_batch_stats, const std::string& input_name,
                        const std::string& state_name) {
  bn_plan plan;
  plan.config = config;
  plan.input = input;
  const bool tracked = config.track_running_stats;
  if (config.mode == bn_mode::eval && tracked &&
      (state.running_mean.empty() || state.running_var.empty())) {
    throw usage_error(
        "eval mode normalizes with running_mean and running_var: give them with --state "
        "(or use --no-track-running-stats for batch statistics)");
  }
  const auto fail = [&](const std::string& what) { throw data_error(input_name + ": " + what); };
  if (input.shape.size() < 2) {
    fail("a batch needs at least 2 dimensions (batch and channel), got shape " +
         shape_to_string(input.shape));
  }
  try {
    plan.layout = make_layout(input, config.axis);
  } catch (const data_error& e) {
    fail(e.what());
  }
  if (input.element_count() == 0) fail("zero-size batch, shape " + shape_to_string(input.shape));

  const std::size_t channels = plan.layout.channels;
  check_length(state.weight, "weight", channels, state_name);
  check_length(state.bias, "bias", channels, state_name);
  check_length(state.running_mean, "running_mean", channels, state_name);
  check_length(state.running_var, "running_var", channels, state_name);
  for (std::size_t c = 0; c < state.running_var.size(); ++c) {
    if (state.running_var[c] < 0) {
      throw data_error(state_name + ": running_var[" + std::to_string(c) + "] is negative (" +
                       std::to_string(state.running_var[c]) + ")");
    }
  }
  if (state.num_batches_tracked < 0) {
    throw data_error(state_name + ": num_batches_tracked is negative");
  }
  if (!config.affine) {
    // Without affine parameters the layer has none; whatever a state file holds is unused.
    state.weight.assign(channels, 1.0);
    state.bias.assign(channels, 0.0);
  }
  fill_default(state.weight, channels, 1.0);
  fill_default(state.bias, channels, 0.0);
  if (tracked) {
    fill_default(state.running_mean, channels, 0.0);
    fill_default(state.running_var, channels, 1.0);
  } else {
    state.running_mean.clear();
    state.running_var.clear();
  }

  plan.normalize_with_batch_stats = config.mode == bn_mode::train || !tracked;
  plan.collect_batch_stats = plan.normalize_with_batch_stats || want_batch_stats;
  if (plan.normalize_with_batch_stats && config.conv->single_value_is_error &&
      plan.layout.count_per_channel() == 1) {
    // PyTorch's own words, so that users searching for them find the cause.
    fail("Expected more than 1 value per channel when training, got input size " +
         shape_to_string(input.shape) + " (the " + std::string(config.conv->name) +
         " convention refuses this; keras and onnx give var 0)");
  }
  plan.state = std::move(state);
  return plan;
}

bn_state update_running_stats(const bn_config& config, const bn_state& state,
                              const std::vector<channel_moments>& batch) {
  bn_state next = state;
  if (!config.track_running_stats || config.mode != bn_mode::train) return next;
  ++next.num_batches_tracked;
  // Each convention's own arithmetic, so the results match the framework to the last bit
  // that double allows: PyTorch weights the batch by m, Keras and ONNX weight the old value.
  double old_weight, new_weight;
  if (!config.momentum) {
    new_weight = 1.0 / static_cast<double>(next.num_batches_tracked);
    old_weight = 1.0 - new_weight;
  } else if (config.conv->meaning == momentum_meaning::new_batch_weight) {
    new_weight = *config.momentum;
    old_weight = 1.0 - *config.momentum;
  } else {
    old_weight = *config.momentum;
    new_weight = 1.0 - *config.momentum;
  }
  for (std::size_t c = 0; c < batch.size(); ++c) {
    const double var = config.conv->fed_variance == running_variance::unbiased
                           ? batch[c].var_unbiased()
                           : batch[c].var();
    next.running_mean[c] = old_weight * state.running_mean[c] + new_weight * batch[c].mean;
    next.running_var[c] = old_weight * state.running_var[c] + new_weight * var;
  }
  return next;
}

bn_result run_batch_norm(const bn_plan& plan, tensor_source& input, tensor_sink& output) {
  const channel_layout& layout = plan.layout;
  const std::vector<position_range> groups = partition(layout.element_count());
  std::vector<std::vector<channel_moments>> group_moments(groups.size());
  bn_result result;

  // Reads a group chunk by chunk, handing each chunk to fn(position, values, count).
  const auto for_each_chunk = [&](const position_range& group, auto&& fn) {
    std::vector<double> chunk(std::min(chunk_values, group.last - group.first));
    for (std::size_t p = group.first; p < group.last; p += chunk.size()) {
      const std::size_t n = std::min(chunk.size(), group.last - p);
      input.read_at(p, std::span<double>(chunk.data(), n));
      fn(p, chunk.data(), n);
    }
  };

  // Pass 1: batch statistics, when they decide the normalization.
  if (plan.normalize_with_batch_stats) {
    run_tasks(groups.size(), true, [&](std::size_t g) {
      moments_accumulator acc(layout.channels);
      for_each_chunk(groups[g], [&](std::size_t p, const double* x, std::size_t n) {
        accumulate(layout, p, x, n, acc);
      });
      group_moments[g] = acc.moments();
    });
    result.batch = merge_groups(group_moments);
  }

  // Pass 2: normalize; in eval mode the statistics for inspection are gathered here too.
  const bool gather_here = plan.collect_batch_stats && !plan.normalize_with_batch_stats;
  const channel_transform t = make_transform(plan, result.batch);
  run_tasks(groups.size(), output.parallel(), [&](std::size_t g) {
    moments_accumulator acc(gather_here ? layout.channels : 0);
    for_each_chunk(groups[g], [&](std::size_t p, double* x, std::size_t n) {
      if (gather_here) accumulate(layout, p, x, n, acc);
      normalize(layout, t, p, x, n);
      output.write_at(p, std::span<const double>(x, n));
    });
    if (gather_here) group_moments[g] = acc.moments();
  });
  output.finish();
  if (gather_here) result.batch = merge_groups(group_moments);

  result.state = update_running_stats(plan.config, plan.state, result.batch);
  return result;
}

}  // namespace bnorm
