// SPDX-License-Identifier: Apache-2.0
#include "apply_many.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <limits>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "archive_rewrite.hpp"
#include "count_text.hpp"
#include "error.hpp"
#include "exit_status.hpp"
#include "file_io.hpp"
#include "file_names.hpp"
#include "output_paths.hpp"
#include "passes.hpp"
#include "progress.hpp"
#include "run_feedback.hpp"
#include "state_file.hpp"
#include "state_lock.hpp"
#include "state_tensors.hpp"
#include "tensor_files.hpp"

namespace bnorm::cli {
namespace {

bool names_folder(const std::string& path) {
  if (path.empty() || path == standard_stream) return false;
  if (path.back() == '/') return true;
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string base_name(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The input's name with the extension of `format` in place of its own (one a format has),
// so that `--output-format json` writes x.json for x.npy.
std::string renamed_for(const std::string& name, const codec* format) {
  if (!format || format->extensions.empty()) return name;
  std::string stem = name;
  if (const codec* own = codec_for_path(name)) {
    for (std::string_view ext : own->extensions) {
      if (stem.size() > ext.size() &&
          stem.compare(stem.size() - ext.size(), ext.size(), ext) == 0) {
        stem.resize(stem.size() - ext.size());
        break;
      }
    }
  }
  return stem + std::string(format->extensions.front());
}

// The folder -o names, without its final '/'.  A missing folder is created by the run (and
// removed again if it fails); its parent must exist.
std::string checked_folder(const std::string& output, bool& creates) {
  std::string folder = output;
  while (folder.size() > 1 && folder.back() == '/') folder.pop_back();
  struct stat st {};
  if (::stat(folder.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) throw io_error(output + ": " + std::strerror(ENOTDIR));
    creates = false;
    return folder;
  }
  const int err = errno;
  if (err != ENOENT) throw io_error(output + ": " + std::strerror(err));
  const std::size_t slash = folder.rfind('/');
  const std::string parent = slash == std::string::npos ? "."
                             : slash == 0               ? "/"
                                                        : folder.substr(0, slash);
  if (::stat(parent.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    throw io_error(output + ": no folder " + parent +
                   " to create it in (-o creates a folder, not its parents)");
  }
  creates = true;
  return folder;
}

std::string identity_key(const file_identity& id) {
  return std::to_string(id.device) + ':' + std::to_string(id.inode) + '/' + id.new_name;
}

// Every output under the folder against every input and every other output of the run, by
// the file each leads to (as check_output_paths, in linear time for thousands of files).
void check_many_outputs(const std::vector<file_role>& inputs,
                        const std::vector<file_role>& outputs) {
  std::unordered_map<std::string, const file_role*> read;
  for (const file_role& role : inputs) {
    if (role.path.empty() || role.path == standard_stream) continue;
    const file_identity id = identify_path(role.path);
    if (id.known && id.exists() && !S_ISCHR(id.type)) read.emplace(identity_key(id), &role);
  }
  std::unordered_map<std::string, const file_role*> written;
  for (const file_role& role : outputs) {
    if (role.path.empty() || role.path == standard_stream) continue;
    const file_identity id = identify_path(role.path);
    if (!id.known || S_ISCHR(id.type)) continue;
    const std::string key = identity_key(id);
    // --stats-out over --state is check_output_paths's to allow or refuse.
    if (const auto in = read.find(key);
        in != read.end() && !(role.flag == "--stats-out" && in->second->flag == "--state")) {
      throw usage_error(role.path + ": " + role.flag + " names the same file as " +
                        in->second->flag + " " + in->second->path +
                        ": an output never overwrites an input");
    }
    if (const auto [out, added] = written.emplace(key, &role); !added) {
      throw usage_error(role.path + ": " + role.flag + " names the same file as " +
                        out->second->flag + " " + out->second->path +
                        ": each output needs a file of its own");
    }
  }
}

// Runs task(i) for i in [0, count) on up to `threads` threads, indices handed out in order.
// A failure stops handing out later indices; the failure of the lowest index is rethrown,
// so the error a run reports does not depend on the number of threads.
template <typename Task>
void for_each_file(std::size_t count, std::size_t threads, Task&& task) {
  threads = std::min(threads, count);
  std::atomic<std::size_t> next{0};
  std::atomic<std::size_t> stop{count};
  std::mutex failure_mutex;
  std::size_t failed_at = count;
  std::exception_ptr failure;
  const auto worker = [&] {
    for (std::size_t i; (i = next.fetch_add(1)) < stop.load();) {
      try {
        task(i);
      } catch (...) {
        const std::lock_guard lock(failure_mutex);
        if (i < failed_at) {
          failed_at = i;
          failure = std::current_exception();
          stop = i;
        }
      }
    }
  };
  std::vector<std::thread> pool;
  for (std::size_t t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (std::thread& thread : pool) thread.join();
  if (failure) std::rethrow_exception(failure);
}

// A folder -o names that the run creates: removed again unless the run commits into it.
class created_folder {
 public:
  explicit created_folder(const std::string& path) : path_(path) {
    if (path_.empty()) return;
    if (::mkdir(path_.c_str(), 0777) != 0) {
      throw io_error(path_ + ": cannot create the folder: " + std::strerror(errno));
    }
  }
  ~created_folder() {
    if (!path_.empty() && !kept_) ::rmdir(path_.c_str());
  }
  created_folder(const created_folder&) = delete;
  created_folder& operator=(const created_folder&) = delete;
  void keep() { kept_ = true; }

 private:
  std::string path_;
  bool kept_ = false;
};

// The first file's layout, which every other file's step waits for and checks before it
// reads its data: a file that differs stops the run then, not after every file was read.
class first_layout {
 public:
  void publish(const channel_layout& layout, const tensor_info& info) {
    const std::lock_guard lock(mutex_);
    layout_ = layout;
    shape_ = info.shape;
    type_ = info.type;
    state_ = known;
    changed_.notify_all();
  }
  // The first file failed before its layout was known: the run reports that failure.
  void abandon() {
    const std::lock_guard lock(mutex_);
    if (state_ == waiting) state_ = failed;
    changed_.notify_all();
  }
  void check(const std::string& name, const channel_layout& layout, const tensor_info& info,
             const std::string& first_name) {
    const std::vector<std::size_t>& shape = info.shape;
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return state_ != waiting; });
    if (state_ == failed) throw data_error(name + ": not read, the first input failed");
    if (layout.channels != layout_.channels) {
      throw data_error(name + ": " + count_text(layout.channels, "channel") +
                       ", but the first input " + first_name + " has " +
                       std::to_string(layout_.channels));
    }
    if (layout.axis != layout_.axis) {
      throw data_error(name + ": channel axis " + std::to_string(layout.axis) + " (shape " +
                       shape_to_string(shape) + "), but the first input " + first_name + "'s is " +
                       std::to_string(layout_.axis) + " (shape " + shape_to_string(shape_) + ")");
    }
    if (std::string(class_name_of(info.type)) != class_name_of(type_)) {
      throw data_error(name + ": " + name_of(info.type) + " (" + class_name_of(info.type) +
                       "), but the first input " + first_name + " is " + name_of(type_) + " (" +
                       class_name_of(type_) + ")");
    }
  }

 private:
  enum { waiting, known, failed } state_ = waiting;
  channel_layout layout_;
  std::vector<std::size_t> shape_;
  dtype type_;
  std::mutex mutex_;
  std::condition_variable changed_;
};

// The output of --no-output with virtual batches, whose statistics come from the pass that
// normalizes.
class discarding_sink : public tensor_sink {
 public:
  bool parallel() const override { return true; }
  void write_at(std::size_t, std::span<const double>) override {}
  void finish() override {}
};

// A statistics document of the whole run: the last file's settings and layout, the pooled
// statistics of every file in place of one batch's, "files" in place of its shape, and every
// dtype the files have (in the order given, as stats lists a dataset's) when they differ.
nlohmann::ordered_json many_files_document(const bn_plan& last, const bn_result& total,
                                           const std::vector<std::string>& dtypes) {
  nlohmann::ordered_json one = stats_document(last, total);
  nlohmann::ordered_json doc;
  for (auto it = one.begin(); it != one.end(); ++it) {
    if (it.key() == "shape") {
      doc["files"] = dtypes.size();
    } else if (it.key() == "dtype") {
      std::vector<std::string> distinct;
      for (const std::string& t : dtypes) {
        if (std::find(distinct.begin(), distinct.end(), t) == distinct.end()) distinct.push_back(t);
      }
      if (distinct.size() == 1) {
        doc["dtype"] = distinct.front();
      } else {
        doc["dtype"] = distinct;
      }
    } else {
      doc[it.key()] = it.value();
    }
  }
  if (!total.batch.empty()) doc["count"] = total.batch.front().count;
  return doc;
}

}  // namespace

bool applies_to_many(const std::vector<std::string>& inputs, const std::string& output,
                     bool no_output) {
  return inputs.size() > 1 || no_output || names_folder(output);
}

void resolve_many(const apply_options& o, const std::vector<std::string>& inputs, apply_run& run) {
  if (o.no_output) {
    if (!o.output.empty()) throw usage_error("--no-output writes no tensor, but -o names one");
    if (o.stats_out.empty()) {
      throw usage_error(
          "--no-output writes only --stats-out, which is not given: nothing would be written");
    }
  } else if (!names_folder(o.output)) {
    throw usage_error(o.output + ": one output file for " + std::to_string(inputs.size()) +
                      " inputs (" + inputs[0] + ", " + inputs[1] +
                      (inputs.size() > 2 ? ", ..." : "") +
                      "): name a folder, -o DIR/, or give --no-output");
  }
  run.no_output = o.no_output;
  if (!o.no_output) run.output_folder = checked_folder(o.output, run.creates_output_folder);
  const std::string prefix = run.output_folder == "/" ? "/" : run.output_folder + "/";
  const codec* asked = named_format(o.output_format);
  std::size_t standard_inputs = 0;
  std::unordered_map<std::string, std::size_t> names;
  std::vector<file_role> read, written;
  for (const std::string& input : inputs) {
    std::string output;
    if (input == standard_stream) {
      if (++standard_inputs > 1)
        throw usage_error("- names standard input twice; it can be read once");
      if (!o.no_output) {
        throw usage_error("standard input has no name to write under " + o.output +
                          ": give the input as a file");
      }
    } else if (!o.no_output) {
      output = prefix + renamed_for(base_name(input), asked);
      if (const auto [it, added] = names.emplace(output, run.many.size()); !added) {
        throw usage_error(inputs[it->second] + " and " + input + " would both be written as " +
                          output + ": each output needs a name of its own");
      }
    }
    run.many.push_back(o.no_output
                           ? tensor_route{input,
                                          o.tensor,
                                          cli::input_format(input, o.input_format),
                                          {},
                                          {},
                                          resolve_read_options(o.missing)}
                           : resolve_route(input, o.input_format, o.tensor, output, o.output_format,
                                           resolve_read_options(o.missing)));
    read.push_back({"INPUT", input});
    if (!output.empty()) written.push_back({"-o", output});
  }
  if (o.inputs.files_from == standard_stream && standard_inputs > 0) {
    throw usage_error("the input list and an input cannot both be standard input");
  }
  read.push_back({"--state", o.layer.state});
  read.push_back({"--batch-stats", o.batch_stats});
  written.push_back({"--stats-out", o.stats_out});
  check_output_paths({{"--state", o.layer.state}, {"--batch-stats", o.batch_stats}},
                     {{"--stats-out", o.stats_out}}, {{"--stats-out", "--state"}});
  check_many_outputs(read, written);
  resolve_stats_out(o, run);
  if (standard_inputs > 0 && o.layer.state == standard_stream) {
    throw usage_error("the input and --state cannot both be standard input");
  }
}

int run_apply_many(const apply_run& run) {
  warn_about_momentum(run.config);
  const auto state_lock = lock_state_update(run.state.path, run.stats_out);
  read_state_result read = read_state(run.state, run.config, true);
  if (run.reset_running_stats) reset_running_statistics(read.state.state);
  const bn_config& config = read.config;
  const std::string state_name = run.state.path.empty() ? "state" : input_name(run.state.path);
  const std::vector<channel_moments> whole_batch = read_batch_statistics(run.batch_stats);
  const bool given_batch = !run.batch_stats.empty();
  const std::size_t files = run.many.size();
  // In train mode each file is the next batch: its running statistics are the previous
  // file's.  Its output depends only on its own batch statistics, so the files run in
  // parallel and their statistics are folded into the chain in the order given.
  const bool chained = config.mode == bn_mode::train && config.track_running_stats && !given_batch;
  if (chained && read.state.state.num_batches_tracked >
                     std::numeric_limits<std::int64_t>::max() - static_cast<std::int64_t>(files)) {
    throw data_error(state_name + ": num_batches_tracked cannot count " + std::to_string(files) +
                     " more batches");
  }
  const bool virtual_chain = chained && config.virtual_batch_size > 0;

  created_folder folder(run.creates_output_folder ? run.output_folder : std::string());
  std::vector<std::unique_ptr<output_file>> outputs(files);
  first_layout first;
  std::vector<std::string> dtypes(files);
  std::optional<bn_plan> last_plan;
  bn_state first_after;  // after the first file's step
  bn_state chain;        // the running state after the files folded so far
  bn_config update_config;
  std::vector<std::optional<std::vector<channel_moments>>> pending(files);
  std::vector<channel_moments> pooled;  // the statistics of the files folded so far
  std::size_t folded = 0;
  std::mutex fold_mutex;

  // The bar counts the run's files and bytes; the passes over each file report nothing.
  progress_observer& bar = progress();
  set_progress_observer(nullptr);
  std::uint64_t total_bytes = 0;
  std::vector<std::uint64_t> sizes(files);
  for (std::size_t i = 0; i < files; ++i) {
    struct stat st {};
    if (run.many[i].input != standard_stream && ::stat(run.many[i].input.c_str(), &st) == 0) {
      sizes[i] = static_cast<std::uint64_t>(st.st_size);
      total_bytes += sizes[i];
    }
  }
  label_next_pass(count_text(files, "file"));
  bar.begin_pass(total_bytes, 1);
  struct bar_end {
    progress_observer& bar;
    ~bar_end() {
      bar.end_pass();
      set_progress_observer(&bar);
    }
  } ending{bar};

  const auto step = [&](std::size_t i, const bn_state& state) -> bn_state {
    struct abandon_unless_published {
      first_layout* first;
      ~abandon_unless_published() {
        if (first) first->abandon();
      }
    } first_guard{i == 0 ? &first : nullptr};
    const tensor_route& route = run.many[i];
    tensor_pipeline pipeline(route);
    const tensor_source& source = pipeline.source();
    // One layer's batches: every file has the first one's channels, on its channel axis
    // (checked before the plan, which would blame the state the previous file left).
    const channel_layout layout = batch_layout(source.info(), config.axis, input_name(route.input));
    if (i == 0) {
      first.publish(layout, source.info());
    } else {
      first.check(input_name(route.input), layout, source.info(), input_name(run.many[0].input));
    }
    const bn_plan plan = plan_batch_norm(
        source.info(), config, state, !run.stats_out.empty(), input_name(route.input), state_name,
        given_batch ? &whole_batch : nullptr, input_name(run.batch_stats));
    if (i == 0) {
      // Notes and warnings once, not per file: the first file's plan stands for the run.
      note_plan(plan);
      announce_passes(batch_norm_passes(plan));
    }
    bn_result result;
    if (run.no_output && config.virtual_batch_size == 0) {
      // Only the statistics and the update: run_batch_norm's without its normalizing pass.
      result.batch = given_batch                ? plan.whole_batch
                     : plan.collect_batch_stats ? channel_moments_of(source, plan.layout)
                                                : std::vector<channel_moments>{};
      result.state = update_running_stats(plan.config, plan.state, result.batch);
    } else if (run.no_output) {
      discarding_sink discard;
      result = run_batch_norm(plan, source, discard);
    } else {
      tensor_sink& sink = pipeline.open_output(pipeline.output_info(), true);
      result = run_batch_norm(plan, source, sink);
      outputs[i] = pipeline.finish_output();
    }
    dtypes[i] = name_of(source.info().type);
    bar.advance(sizes[i]);
    const std::lock_guard lock(fold_mutex);
    if (i == 0) {
      first_after = result.state;
      chain = plan.state;
      update_config = plan.config;
    }
    if (i + 1 == files) last_plan = plan;
    // Folded in the order given as soon as every earlier file is done, so that only the
    // files finished out of order wait with their statistics.
    pending[i] = std::move(result.batch);
    for (; folded < files && pending[folded]; ++folded) {
      std::vector<channel_moments>& batch = *pending[folded];
      if (chained && !virtual_chain) chain = update_running_stats(update_config, chain, batch);
      if (given_batch || batch.empty()) {
        pooled = std::move(batch);
      } else if (folded == 0) {
        pooled = std::move(batch);
      } else {
        for (std::size_t c = 0; c < pooled.size(); ++c) pooled[c] = merge(pooled[c], batch[c]);
      }
      pending[folded].reset();
    }
    return result.state;
  };

  if (virtual_chain) {
    // Each file's virtual batches feed the update: chained file by file.
    bn_state state = step(0, read.state.state);
    for (std::size_t i = 1; i < files; ++i) state = step(i, state);
    chain = state;
  } else {
    for_each_file(files, run.threads, [&](std::size_t i) { step(i, read.state.state); });
  }

  bn_result total;
  // Not chained, every file's step leaves the same state: the read one (eval mode), or the
  // read one updated once with the whole batch's statistics.
  total.state = chained ? chain : first_after;
  total.batch = std::move(pooled);

  std::optional<output_file> stats;
  if (!run.stats_out.empty()) {
    stats.emplace(run.stats_out);
    // The plan's state is complete (defaults filled); the document's figures are the run's.
    write_stats_out(run, read, total, *stats, many_files_document(*last_plan, total, dtypes));
  }
  std::vector<output_file*> all;
  all.reserve(files + 1);
  for (const auto& out : outputs) all.push_back(out.get());
  all.push_back(stats ? &*stats : nullptr);
  commit_together(all);
  folder.keep();
  return exit_ok;
}

}  // namespace bnorm::cli
