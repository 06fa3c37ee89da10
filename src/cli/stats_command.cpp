// SPDX-License-Identifier: Apache-2.0
#include "stats_command.hpp"

#include <unistd.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <thread>

#include "channel_selection.hpp"
#include "count_text.hpp"
#include "csv_field.hpp"
#include "dataset_stats.hpp"
#include "error.hpp"
#include "exit_status.hpp"
#include "file_io.hpp"
#include "file_names.hpp"
#include "json_document.hpp"
#include "number_text.hpp"
#include "output_paths.hpp"
#include "parse_number.hpp"
#include "partial_stats.hpp"
#include "passes.hpp"
#include "progress.hpp"
#include "run_feedback.hpp"
#include "state_input.hpp"
#include "stats_plot.hpp"
#include "tensor_files.hpp"

namespace bnorm::cli {
namespace {

using json = nlohmann::ordered_json;

// A tensor's statistics, per channel and over the whole tensor; or a dataset's (files > 0),
// whose info and layout are its first file's.
struct tensor_statistics {
  std::string name;
  tensor_info info;
  channel_layout layout;
  std::vector<channel_moments> channels;
  channel_moments all;
  std::size_t files = 0;
  std::vector<std::string> dtypes;  ///< of a dataset: every dtype its files have, in order
  std::optional<per_sample_moments> per_sample;
};

channel_moments merge_all(const std::vector<channel_moments>& channels) {
  channel_moments all;
  for (const channel_moments& m : channels) all = merge(all, m);
  return all;
}

// A sink that keeps only the per-channel moments of what is written to it: the statistics of
// a normalized tensor without writing the tensor anywhere.
class moments_sink : public tensor_sink {
 public:
  explicit moments_sink(const channel_layout& layout) : layout_(layout), acc_(layout.channels) {}
  bool parallel() const override { return false; }
  void write_at(std::size_t first, std::span<const double> values) override {
    accumulate(layout_, first, values.data(), values.size(), acc_);
  }
  void finish() override {}
  std::vector<channel_moments> moments() const { return acc_.moments(); }

 private:
  channel_layout layout_;
  moments_accumulator acc_;
};

tensor_statistics statistics_of(const tensor_source& source, const std::string& path,
                                const bn_config& config) {
  tensor_statistics s{input_name(path), source.info(), {}, {}, {}, 0, {}, std::nullopt};
  s.layout = batch_layout(s.info, config.axis, s.name);
  s.channels = channel_moments_of(source, s.layout);
  s.all = merge_all(s.channels);
  return s;
}

// The input normalized as `apply` would (the layer flags and --state), measured on the fly.
// Reuses the input's source: standard input cannot be read twice, and every source can.  `mode`
// is the mode it ran in, the state's layer's where no --mode was given.
tensor_statistics normalized_statistics(const stats_run& run, const tensor_source& source,
                                        const tensor_statistics& input, bn_mode& mode) {
  read_state_result read = read_state(run.state, run.config);
  const bn_config& config = read.config;
  mode = config.mode;
  state_file& state = read.state;
  const bn_plan plan = plan_batch_norm(source.info(), config, std::move(state.state), false,
                                       input.name, input_name(run.state.path));
  note_plan(plan, false);
  announce_passes(batch_norm_passes(plan));
  moments_sink sink(plan.layout);
  run_batch_norm(plan, source, sink);
  tensor_statistics s = input;
  s.name = input.name + ", normalized (" + std::string(config.conv->name) + ", " +
           (config.mode == bn_mode::train ? "train" : "eval") + ")";
  s.channels = sink.moments();
  s.all = merge_all(s.channels);
  return s;
}

// Six significant digits: what a person reads in a table.
std::string short_number(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value < 0 ? "-inf" : "inf";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.6g", value);
  return buffer;
}

json moments_json(const channel_moments& m) {
  json j;
  j["count"] = m.count;
  j["mean"] = m.mean;
  j["var"] = m.var();
  j["var_unbiased"] = m.var_unbiased();
  j["std"] = std::sqrt(m.var());
  j["min"] = m.min;
  j["max"] = m.max;
  j["nonfinite"] = m.nonfinite;
  return j;
}

// The moments of the selected channels, in the selection's order.
std::vector<channel_moments> selected_moments(const tensor_statistics& s,
                                              const std::vector<std::size_t>& selected) {
  std::vector<channel_moments> shown;
  shown.reserve(selected.size());
  for (std::size_t c : selected) shown.push_back(s.channels[c]);
  return shown;
}

bool selects_all(const std::vector<std::size_t>& selected, std::size_t channels) {
  if (selected.size() != channels) return false;
  for (std::size_t i = 0; i < selected.size(); ++i) {
    if (selected[i] != i) return false;
  }
  return true;
}

// A dataset's dtype: its files', or every one of them when they differ (float32 and float64).
json dataset_dtype(const tensor_statistics& s) {
  if (s.dtypes.size() == 1) return s.dtypes.front();
  return s.dtypes;
}

// What a document says of where its statistics come from: a dataset's files, or a file's
// name and shape.
void put_origin(json& doc, const tensor_statistics& s) {
  if (s.files > 0) {
    doc["files"] = s.files;
    doc["dtype"] = dataset_dtype(s);
  } else {
    doc["file"] = s.name;
    doc["dtype"] = name_of(s.info.type);
    doc["shape"] = s.info.shape;
  }
}

// The channel names the input gives its last axis, for the selected channels; none when the
// channel axis is another one.
std::vector<std::string> selected_names(const tensor_statistics& s,
                                        const std::vector<std::size_t>& selected) {
  const std::vector<std::string>& names = s.info.channel_names;
  if (names.size() != s.layout.channels || s.layout.axis + 1 != s.info.shape.size()) return {};
  std::vector<std::string> shown;
  for (std::size_t c : selected) shown.push_back(names[c]);
  return shown;
}

json statistics_json(const tensor_statistics& s, const std::vector<std::size_t>& selected) {
  json doc;
  put_origin(doc, s);
  doc["axis"] = s.layout.axis;
  doc["num_features"] = s.layout.channels;
  doc["count"] = s.all.count / std::max<std::size_t>(1, s.layout.channels);
  if (s.files == 0) doc["count"] = s.layout.count_per_channel();
  if (!selects_all(selected, s.layout.channels)) doc["channels"] = selected;
  const std::vector<std::string> names = selected_names(s, selected);
  if (!names.empty()) doc["channel_names"] = names;
  const std::vector<channel_moments> shown = selected_moments(s, selected);
  const auto column = [&](auto&& fn) { return channel_column(shown, fn); };
  if (s.per_sample) {
    const per_sample_moments& p = *s.per_sample;
    const auto values = [&](const std::vector<double>& v) {
      json array = json::array();
      for (std::size_t c : selected) array.push_back(v[c]);
      return array;
    };
    doc["estimator"] = "per_sample";
    doc["samples"] = p.samples;
    doc["mean"] = values(p.mean);
    doc["std"] = values(p.std);
    doc["std_unbiased"] = values(p.std_unbiased);
    doc["min"] = column([](const channel_moments& m) { return m.min; });
    doc["max"] = column([](const channel_moments& m) { return m.max; });
    doc["nonfinite"] = column([](const channel_moments& m) { return m.nonfinite; });
    return doc;
  }
  if (s.files > 0) doc["estimator"] = "pooled";
  doc["mean"] = column([](const channel_moments& m) { return m.mean; });
  doc["var"] = column([](const channel_moments& m) { return m.var(); });
  doc["var_unbiased"] = column([](const channel_moments& m) { return m.var_unbiased(); });
  doc["std"] = column([](const channel_moments& m) { return std::sqrt(m.var()); });
  doc["min"] = column([](const channel_moments& m) { return m.min; });
  doc["max"] = column([](const channel_moments& m) { return m.max; });
  doc["nonfinite"] = column([](const channel_moments& m) { return m.nonfinite; });
  doc["all"] = moments_json(s.all);
  return doc;
}

// The channel's label in a table or CSV: its name where the input gives one, else its index.
std::string channel_label(const tensor_statistics& s, std::size_t c) {
  const std::vector<std::string>& names = s.info.channel_names;
  if (names.size() == s.layout.channels && s.layout.axis + 1 == s.info.shape.size()) {
    return names[c];
  }
  return std::to_string(c);
}

// A label as a terminal shows it: a name read from a file may hold control bytes, which are
// written \xNN rather than sent to the terminal, and be long, which is cut to keep the row.
std::string shown_label(const std::string& label) {
  static constexpr char hex[] = "0123456789abcdef";
  constexpr std::size_t longest = 40;
  std::string shown;
  for (const char ch : label.substr(0, longest)) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c != 0x7f) {
      shown += ch;
    } else {
      shown += "\\x";
      shown += hex[c >> 4];
      shown += hex[c & 15];
    }
  }
  return label.size() > longest ? shown + "..." : shown;
}

// The width of a table's channel column: "channel", or the longest label shown in it.
int label_width(const tensor_statistics& s, const std::vector<std::size_t>& selected) {
  std::size_t width = 7;
  for (std::size_t c : selected) width = std::max(width, shown_label(channel_label(s, c)).size());
  return static_cast<int>(std::min<std::size_t>(width, 4 * 40 + 3));
}

// mean=[...], std=[...]: what transforms.Normalize takes, each value float32's shortest text.
std::string normalize_text(const tensor_statistics& s, const std::vector<std::size_t>& selected) {
  const auto list = [&](auto&& fn) {
    std::string out = "[";
    for (std::size_t i = 0; i < selected.size(); ++i) {
      if (i > 0) out += ", ";
      out += format_number(static_cast<float>(fn(selected[i])), dtype::float32());
    }
    return out + "]";
  };
  if (s.per_sample) {
    const per_sample_moments& p = *s.per_sample;
    return "mean=" + list([&](std::size_t c) { return p.mean[c]; }) +
           ", std=" + list([&](std::size_t c) { return p.std[c]; }) + "\n";
  }
  return "mean=" + list([&](std::size_t c) { return s.channels[c].mean; }) +
         ", std=" + list([&](std::size_t c) { return std::sqrt(s.channels[c].var()); }) + "\n";
}

std::string per_sample_csv(const tensor_statistics& s, const std::vector<std::size_t>& selected) {
  const per_sample_moments& p = *s.per_sample;
  std::string out = "channel,files,samples,mean,std,std_unbiased\n";
  for (std::size_t c : selected) {
    out += csv_field(channel_label(s, c)) + "," +
           std::to_string(std::max<std::size_t>(1, s.files)) + "," + std::to_string(p.samples) +
           "," + number_text(p.mean[c]) + "," + number_text(p.std[c]) + "," +
           number_text(p.std_unbiased[c]) + "\n";
  }
  return out;
}

std::string statistics_csv(const tensor_statistics& s, const std::vector<std::size_t>& selected) {
  if (s.per_sample) return per_sample_csv(s, selected);
  const std::string files = s.files > 0 ? std::to_string(s.files) + "," : "";
  std::string out = std::string("channel,") + (s.files > 0 ? "files," : "") +
                    "count,mean,var,var_unbiased,std,min,max,nonfinite\n";
  const auto row = [&](const std::string& label, const channel_moments& m) {
    out += label + "," + files + std::to_string(m.count) + "," + number_text(m.mean) + "," +
           number_text(m.var()) + "," + number_text(m.var_unbiased()) + "," +
           number_text(std::sqrt(m.var())) + "," + number_text(m.min) + "," + number_text(m.max) +
           "," + std::to_string(m.nonfinite) + "\n";
  };
  for (std::size_t c : selected) row(csv_field(channel_label(s, c)), s.channels[c]);
  row("all", s.all);
  return out;
}

std::string dataset_heading(const tensor_statistics& s) {
  std::string types;
  for (const std::string& t : s.dtypes) types += (types.empty() ? "" : ", ") + t;
  return count_text(s.files, "file") + ": " + types + ", channel axis " +
         std::to_string(s.layout.axis) + ": " + count_text(s.layout.channels, "channel") + " of " +
         count_text(s.all.count / std::max<std::size_t>(1, s.layout.channels), "value");
}

std::string per_sample_table(const tensor_statistics& s, const std::vector<std::size_t>& selected) {
  const per_sample_moments& p = *s.per_sample;
  std::string out =
      (s.files > 0 ? dataset_heading(s) : s.name) + ", " + count_text(p.samples, "sample") + "\n";
  char line[512];
  const int width = label_width(s, selected);
  std::snprintf(line, sizeof line, "%*s %12s %12s %12s\n", width, "channel", "mean", "std",
                "std_unbiased");
  out += line;
  for (std::size_t c : selected) {
    std::snprintf(line, sizeof line, "%*s %12s %12s %12s\n", width,
                  shown_label(channel_label(s, c)).c_str(), short_number(p.mean[c]).c_str(),
                  short_number(p.std[c]).c_str(), short_number(p.std_unbiased[c]).c_str());
    out += line;
  }
  out +=
      "per channel, the mean over samples of each sample's mean, std (biased) and "
      "std_unbiased\n";
  return out;
}

std::string statistics_table(const tensor_statistics& s, const std::vector<std::size_t>& selected) {
  if (s.per_sample) return per_sample_table(s, selected);
  std::string out = s.files > 0 ? dataset_heading(s) + "\n"
                                : s.name + ": " + name_of(s.info.type) + ", shape " +
                                      shape_to_string(s.info.shape) + ", channel axis " +
                                      std::to_string(s.layout.axis) + ": " +
                                      count_text(s.layout.channels, "channel") + " of " +
                                      count_text(s.layout.count_per_channel(), "value") + "\n";
  char line[512];
  const int width = label_width(s, selected);
  std::snprintf(line, sizeof line, "%*s %12s %12s %12s %12s %12s %12s %9s\n", width, "channel",
                "mean", "var", "var_unbiased", "std", "min", "max", "nonfinite");
  out += line;
  const auto row = [&](const std::string& label, const channel_moments& m) {
    std::snprintf(line, sizeof line, "%*s %12s %12s %12s %12s %12s %12s %9llu\n", width,
                  shown_label(label).c_str(), short_number(m.mean).c_str(),
                  short_number(m.var()).c_str(), short_number(m.var_unbiased()).c_str(),
                  short_number(std::sqrt(m.var())).c_str(), short_number(m.min).c_str(),
                  short_number(m.max).c_str(), static_cast<unsigned long long>(m.nonfinite));
    out += line;
  };
  // A long list stays readable: its head and tail, and how to see the rest.
  const std::size_t count = selected.size();
  constexpr std::size_t head = 20, tail = 10;
  for (std::size_t i = 0; i < count; ++i) {
    if (count > head + tail + 10 && i == head) {
      out += "    ... " + count_text(count - head - tail, "more channel", "more channels") +
             " (pick a range with --channels A:B)\n";
      i = count - tail - 1;
      continue;
    }
    row(channel_label(s, selected[i]), s.channels[selected[i]]);
  }
  row("all", s.all);
  out += "var is biased (divides by n), var_unbiased divides by n-1; std is sqrt(var)\n";
  return out;
}

}  // namespace

CLI::App* add_stats_command(CLI::App& app, stats_options& o) {
  CLI::App* cmd = app.add_subcommand(
      "stats", "Per-channel statistics of a tensor: count, mean, variances, extremes, NaN/Inf.");
  cmd->add_option("INPUT", o.inputs.paths,
                  "Tensors, " + extension_names(", ", " or ") +
                      ", or folders of them; - reads standard input. Many are one dataset")
      ->type_name("FILE");
  add_input_reading_options(cmd, o.input_format, o.tensor, o.missing);
  add_input_list_options(cmd, o.inputs);
  cmd->add_option("--format", o.format,
                  "Output format (default: table on a terminal, else json); normalize prints "
                  "mean=[...], std=[...] for transforms.Normalize")
      ->type_name("table|json|csv|normalize");
  cmd->add_option("--channels", o.channels,
                  "Channels to show, as a Python index or slice: 5, -1, 0:8, -4:, ::2, ::-1")
      ->type_name("A:B:STEP");
  cmd->add_option("--plot", o.plot, "Also draw the statistics as an SVG picture")
      ->type_name("FILE.svg");
  cmd->add_option("--beside", o.beside, "A second tensor (a normalized output), drawn in --plot")
      ->type_name("FILE");
  cmd->add_flag("--partial", o.partial,
                "Print mergeable statistics (count, mean, m2 per channel) for bnorm merge");
  cmd->add_flag("--per-sample", o.per_sample,
                "Per channel, the mean over samples of each sample's mean and std (a sample "
                "is an index of the first axis), as torchvision's ImageNet figures were made");
  cmd->add_option("-j,--threads", o.threads, "Read at most N files at once (default: every core)")
      ->type_name("N")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--after", o.normalize_after,
                "Also normalize INPUT as apply would (the flags below) and draw it in --plot");
  add_layer_options(cmd, o.layer, layer_flags::stats);
  for (const char* flag : {"--mode", "--eps", "--state", "--state-prefix"}) {
    CLI::Option* option = cmd->get_option(flag);
    option->description(option->get_description() + " (with --after)");
  }
  o.command = cmd;
  return cmd;
}

stats_run resolve(const stats_options& o) {
  if (o.partial && (!o.channels.empty() || !o.plot.empty())) {
    throw usage_error(
        "--partial describes every channel, for bnorm merge: no --channels or --plot");
  }
  if (!o.format.empty() && o.format != "table" && o.format != "json" && o.format != "csv" &&
      o.format != "normalize") {
    throw usage_error("--format takes table, json, csv or normalize, not '" + o.format + "'");
  }
  if (o.partial && o.per_sample) {
    throw usage_error("--partial merges pooled moments; the per-sample estimator does not merge");
  }
  if (o.per_sample && o.normalize_after) {
    throw usage_error("--after draws the normalized tensor's pooled statistics: no --per-sample");
  }
  if (!o.beside.empty() && o.normalize_after) {
    throw usage_error("give either --beside or --after, not both");
  }
  // What only the picture shows is refused without it, rather than silently left out.
  if (!o.beside.empty() && o.plot.empty()) {
    throw usage_error(input_name(o.beside) +
                      ": --beside is only drawn beside INPUT in --plot (give --plot "
                      "FILE.svg, or leave it out)");
  }
  if (o.normalize_after && o.plot.empty()) {
    throw usage_error("--after is only drawn in --plot (give --plot FILE.svg)");
  }
  for (const char* flag : {"--mode", "--eps", "--state", "--state-prefix"}) {
    if (!o.normalize_after && o.command && o.command->count(flag) > 0) {
      throw usage_error(std::string(flag) + " applies to --after, which normalizes INPUT");
    }
  }
  if (o.partial && !o.format.empty() && o.format != "json") {
    throw usage_error("--partial writes JSON, not --format " + o.format);
  }
  stats_run run;
  run.config = make_config(o.layer);
  run.state = state_input_of(o.layer);
  run.channels = parse_channels(o.channels);
  if (o.beside == standard_stream) {
    throw usage_error("--beside is read from a file, not standard input");
  }
  if (o.plot == standard_stream) {
    throw usage_error("--plot - would mix the picture with the report on standard output");
  }
  run.inputs = expand_inputs(o.inputs);
  const std::size_t stdin_inputs = static_cast<std::size_t>(
      std::count(run.inputs.begin(), run.inputs.end(), std::string(standard_stream)));
  if (stdin_inputs > 1 || (stdin_inputs == 1 && o.inputs.files_from == standard_stream)) {
    throw usage_error(
        "standard input is read once: name - at most once, and not with "
        "--files-from -");
  }
  if (run.inputs.size() > 1 && o.normalize_after) {
    throw usage_error("--after normalizes one tensor: give one INPUT");
  }
  std::vector<file_role> roles;
  for (const std::string& path : run.inputs) roles.push_back({"INPUT", path});
  roles.push_back({"--beside", o.beside});
  roles.push_back({"--state", o.layer.state});
  check_output_paths(roles, {{"--plot", o.plot}, {"the report", std::string(standard_stream)}});
  if (stdin_inputs == 1 && o.layer.state == standard_stream) {
    throw usage_error("the input and --state cannot both be standard input");
  }
  // In byte order: the dataset's statistics do not depend on the order it was named in.
  if (run.inputs.size() > 1) run.inputs = canonical_order(std::move(run.inputs));
  run.input_format = named_format(o.input_format);
  if (run.inputs.size() == 1) run.input_format = input_format(run.inputs.front(), o.input_format);
  run.tensor = o.tensor;
  run.reading = resolve_read_options(o.missing);
  // The terminal's default comes last, so that it never overrides a flag: --partial decides
  // (its only --format is json, checked above), then --format.
  const std::string format = !o.format.empty()         ? o.format
                             : ::isatty(STDOUT_FILENO) ? "table"
                                                       : "json";
  run.report = o.partial               ? stats_report::partial
               : format == "table"     ? stats_report::table
               : format == "csv"       ? stats_report::csv
               : format == "normalize" ? stats_report::normalize
                                       : stats_report::json;
  run.plot = o.plot;
  run.beside = o.beside;
  run.normalize_after = o.normalize_after;
  run.per_sample = o.per_sample;
  run.threads = o.threads > 0 ? o.threads : std::max(1u, std::thread::hardware_concurrency());
  return run;
}

namespace {

// For the progress bar's total: 0 for what has no size (standard input, a pipe).
std::size_t file_size_or_zero(const std::string& path) {
  std::error_code error;
  const auto size = std::filesystem::file_size(path, error);
  return error ? 0 : static_cast<std::size_t>(size);
}

// Restores the progress observer a dataset's run borrowed: the bar counts files, not the
// passes over each of them.
class borrowed_progress {
 public:
  borrowed_progress() : observer_(&progress()) { set_progress_observer(nullptr); }
  ~borrowed_progress() { set_progress_observer(observer_); }
  borrowed_progress(const borrowed_progress&) = delete;
  borrowed_progress& operator=(const borrowed_progress&) = delete;
  progress_observer* get() const { return observer_; }

 private:
  progress_observer* observer_;
};

tensor_statistics dataset_statistics_of(const stats_run& run) {
  std::size_t bytes = 0;
  for (const std::string& path : run.inputs) bytes += file_size_or_zero(path);
  announce_passes({"statistics of " + count_text(run.inputs.size(), "file")});
  const borrowed_progress bar;
  dataset_request request;
  request.members = run.inputs.size();
  request.axis = run.config.axis;
  request.threads = run.threads;
  request.per_sample = run.per_sample;
  request.progress = bar.get();
  request.bytes = bytes;
  std::vector<std::string> dtypes(run.inputs.size());
  const dataset_statistics d = bnorm::dataset_statistics_of(request, [&](std::size_t i) {
    const std::string& path = run.inputs[i];
    auto source =
        open_input_tensor(path, run.input_format, run.tensor, true, true, run.reading).source;
    dtypes[i] = name_of(source->info().type);
    return dataset_member{std::move(source), input_name(path)};
  });
  tensor_statistics s;
  s.name = count_text(d.files, "file");
  s.info = d.first;
  s.layout = d.layout;
  s.channels = d.channels;
  s.all = merge_all(s.channels);
  s.files = d.files;
  for (const std::string& t : dtypes) {
    if (std::find(s.dtypes.begin(), s.dtypes.end(), t) == s.dtypes.end()) s.dtypes.push_back(t);
  }
  if (run.per_sample) s.per_sample = d.per_sample;
  return s;
}

}  // namespace

int run_stats(const stats_run& run) {
  const bn_config& config = run.config;
  std::unique_ptr<tensor_source> source;
  tensor_statistics input;
  if (run.inputs.size() == 1 && !run.per_sample) {
    source =
        open_input_tensor(run.inputs.front(), run.input_format, run.tensor, true, true, run.reading)
            .source;
    note_layout(source->info(),
                batch_layout(source->info(), config.axis, input_name(run.inputs.front())));
    announce_passes({"statistics"});
    input = statistics_of(*source, run.inputs.front(), config);
  } else {
    input = dataset_statistics_of(run);
    if (run.inputs.size() == 1) {
      input.files = 0;
      input.name = input_name(run.inputs.front());
    }
  }
  const std::vector<std::size_t> selected = select_channels(run.channels, input.layout.channels);

  if (!run.plot.empty()) {
    std::vector<plot_panel> panels{{input.name, input.channels}};
    if (run.normalize_after) {
      bn_mode mode = config.mode;
      const tensor_statistics after = normalized_statistics(run, *source, input, mode);
      panels.push_back({.label = "after normalization (" + std::string(config.conv->name) + ", " +
                                 (mode == bn_mode::train ? "train" : "eval") + " mode)",
                        .channels = after.channels,
                        .values = plot_values::normalized});
    } else if (!run.beside.empty()) {
      const auto after_source =
          open_input_tensor(run.beside, input_format(run.beside, ""), {}, false, false, run.reading)
              .source;
      announce_passes({"statistics of " + input_name(run.beside)});
      const tensor_statistics after = statistics_of(*after_source, run.beside, config);
      if (after.layout.channels != input.layout.channels) {
        throw data_error(after.name + ": " + count_text(after.layout.channels, "channel") +
                         ", but " + input.name + " has " + std::to_string(input.layout.channels));
      }
      panels.push_back({after.name, after.channels});
    }
    for (plot_panel& panel : panels) {
      std::vector<channel_moments> shown;
      for (std::size_t c : selected) shown.push_back(panel.channels[c]);
      panel.channels = std::move(shown);
      panel.indices = selected;
    }
    const std::string title = input.files > 0
                                  ? dataset_heading(input)
                                  : input.name + ": shape " + shape_to_string(input.info.shape) +
                                        ", " + name_of(input.info.type);
    output_file svg(run.plot);
    svg.write(stats_svg(title, panels));
    svg.commit();
  }

  std::string text;
  if (run.report == stats_report::partial) {
    nlohmann::ordered_json doc;
    put_origin(doc, input);
    doc["axis"] = input.layout.axis;
    doc.update(partial_document(input.channels, false));
    text = format_json_document(doc);
  } else if (run.report == stats_report::json) {
    text = format_json_document(statistics_json(input, selected));
  } else if (run.report == stats_report::csv) {
    text = statistics_csv(input, selected);
  } else if (run.report == stats_report::normalize) {
    text = normalize_text(input, selected);
  } else {
    text = statistics_table(input, selected);
  }
  output_file out{std::string(standard_stream)};
  out.write(text);
  out.commit();
  return exit_ok;
}

}  // namespace bnorm::cli
