#include "stats_command.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <iostream>

#include "channel_selection.hpp"
#include "count_text.hpp"
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
#include "run_feedback.hpp"
#include "state_input.hpp"
#include "stats_plot.hpp"
#include "tensor_files.hpp"

namespace bnorm::cli {
namespace {

using json = nlohmann::ordered_json;

// A tensor's statistics, per channel and over the whole tensor.
struct tensor_statistics {
  std::string name;
  tensor_info info;
  channel_layout layout;
  std::vector<channel_moments> channels;
  channel_moments all;
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
  tensor_statistics s{input_name(path), source.info(), {}, {}, {}};
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

json statistics_json(const tensor_statistics& s, const std::vector<std::size_t>& selected) {
  json doc;
  doc["file"] = s.name;
  doc["dtype"] = name_of(s.info.type);
  doc["shape"] = s.info.shape;
  doc["axis"] = s.layout.axis;
  doc["num_features"] = s.layout.channels;
  doc["count"] = s.layout.count_per_channel();
  if (!selects_all(selected, s.layout.channels)) doc["channels"] = selected;
  const std::vector<channel_moments> shown = selected_moments(s, selected);
  const auto column = [&](auto&& fn) { return channel_column(shown, fn); };
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

std::string statistics_csv(const tensor_statistics& s, const std::vector<std::size_t>& selected) {
  std::string out = "channel,count,mean,var,var_unbiased,std,min,max,nonfinite\n";
  const auto row = [&](const std::string& label, const channel_moments& m) {
    out += label + "," + std::to_string(m.count) + "," + number_text(m.mean) + "," +
           number_text(m.var()) + "," + number_text(m.var_unbiased()) + "," +
           number_text(std::sqrt(m.var())) + "," + number_text(m.min) + "," + number_text(m.max) +
           "," + std::to_string(m.nonfinite) + "\n";
  };
  for (std::size_t c : selected) row(std::to_string(c), s.channels[c]);
  row("all", s.all);
  return out;
}

std::string statistics_table(const tensor_statistics& s, const std::vector<std::size_t>& selected) {
  std::string out = s.name + ": " + name_of(s.info.type) + ", shape " +
                    shape_to_string(s.info.shape) + ", channel axis " +
                    std::to_string(s.layout.axis) + ": " +
                    count_text(s.layout.channels, "channel") + " of " +
                    count_text(s.layout.count_per_channel(), "value") + "\n";
  char line[256];
  std::snprintf(line, sizeof line, "%7s %12s %12s %12s %12s %12s %12s %9s\n", "channel", "mean",
                "var", "var_unbiased", "std", "min", "max", "nonfinite");
  out += line;
  const auto row = [&](const std::string& label, const channel_moments& m) {
    std::snprintf(line, sizeof line, "%7s %12s %12s %12s %12s %12s %12s %9llu\n", label.c_str(),
                  short_number(m.mean).c_str(), short_number(m.var()).c_str(),
                  short_number(m.var_unbiased()).c_str(), short_number(std::sqrt(m.var())).c_str(),
                  short_number(m.min).c_str(), short_number(m.max).c_str(),
                  static_cast<unsigned long long>(m.nonfinite));
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
    row(std::to_string(selected[i]), s.channels[selected[i]]);
  }
  row("all", s.all);
  out += "var is biased (divides by n), var_unbiased divides by n-1; std is sqrt(var)\n";
  return out;
}

}  // namespace

CLI::App* add_stats_command(CLI::App& app, stats_options& o) {
  CLI::App* cmd = app.add_subcommand(
      "stats", "Per-channel statistics of a tensor: count, mean, variances, extremes, NaN/Inf.");
  add_input_option(cmd, o.input, o.input_format, o.tensor);
  cmd->add_option("AFTER", o.after, "Optional normalized tensor, shown beside INPUT in --plot")
      ->type_name("FILE");
  cmd->add_option("--format", o.format, "Output format (default: table on a terminal, else json)")
      ->type_name("table|json|csv");
  cmd->add_option("--channels", o.channels,
                  "Channels to show, as a Python index or slice: 5, -1, 0:8, -4:, ::2, ::-1")
      ->type_name("A:B:STEP");
  cmd->add_option("--plot", o.plot, "Also draw the statistics as an SVG picture")
      ->type_name("FILE.svg");
  cmd->add_flag("--partial", o.partial,
                "Print mergeable statistics (count, mean, m2 per channel) for bnorm merge");
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
  if (!o.format.empty() && o.format != "table" && o.format != "json" && o.format != "csv") {
    throw usage_error("--format takes table, json or csv, not '" + o.format + "'");
  }
  if (!o.after.empty() && o.normalize_after) {
    throw usage_error("give either a second input or --after, not both");
  }
  // What only the picture shows is refused without it, rather than silently left out.
  if (!o.after.empty() && o.plot.empty()) {
    throw usage_error(input_name(o.after) +
                      ": a second input is only drawn beside INPUT in --plot (give --plot "
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
  if (o.after == standard_stream) {
    throw usage_error("the second input, AFTER, is read from a file, not standard input");
  }
  if (o.plot == standard_stream) {
    throw usage_error("--plot - would mix the picture with the report on standard output");
  }
  check_output_paths({{"INPUT", o.input}, {"AFTER", o.after}, {"--state", o.layer.state}},
                     {{"--plot", o.plot}, {"the report", std::string(standard_stream)}});
  if (o.input == standard_stream && o.layer.state == standard_stream) {
    throw usage_error("the input and --state cannot both be standard input");
  }
  run.input = o.input;
  run.input_format = input_format(o.input, o.input_format);
  run.tensor = o.tensor;
  // The terminal's default comes last, so that it never overrides a flag: --partial decides
  // (its only --format is json, checked above), then --format.
  const std::string format = !o.format.empty()         ? o.format
                             : ::isatty(STDOUT_FILENO) ? "table"
                                                       : "json";
  run.report = o.partial           ? stats_report::partial
               : format == "table" ? stats_report::table
               : format == "csv"   ? stats_report::csv
                                   : stats_report::json;
  run.plot = o.plot;
  run.after = o.after;
  run.normalize_after = o.normalize_after;
  return run;
}

int run_stats(const stats_run& run) {
  const bn_config& config = run.config;
  const auto source = open_input_tensor(run.input, run.input_format, run.tensor).source;
  note_layout(source->info(), batch_layout(source->info(), config.axis, input_name(run.input)));
  announce_passes({"statistics"});
  const tensor_statistics input = statistics_of(*source, run.input, config);
  const std::vector<std::size_t> selected = select_channels(run.channels, input.layout.channels);

  if (!run.plot.empty()) {
    std::vector<plot_panel> panels{{input.name, input.channels}};
    if (run.normalize_after) {
      bn_mode mode = config.mode;
      const tensor_statistics after = normalized_statistics(run, *source, input, mode);
      panels.push_back({"after normalization (" + std::string(config.conv->name) + ", " +
                            (mode == bn_mode::train ? "train" : "eval") + " mode)",
                        after.channels});
    } else if (!run.after.empty()) {
      const auto after_source =
          open_input_tensor(run.after, input_format(run.after, ""), {}, false, false).source;
      announce_passes({"statistics of " + input_name(run.after)});
      const tensor_statistics after = statistics_of(*after_source, run.after, config);
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
    output_file svg(run.plot);
    svg.write(stats_svg(input.name + ": shape " + shape_to_string(input.info.shape) + ", " +
                            name_of(input.info.type),
                        panels));
    svg.commit();
  }

  std::string text;
  if (run.report == stats_report::partial) {
    nlohmann::ordered_json doc;
    doc["file"] = input.name;
    doc["dtype"] = name_of(input.info.type);
    doc["shape"] = input.info.shape;
    doc["axis"] = input.layout.axis;
    doc.update(partial_document(input.channels, false));
    text = format_json_document(doc);
  } else if (run.report == stats_report::json) {
    text = format_json_document(statistics_json(input, selected));
  } else if (run.report == stats_report::csv) {
    text = statistics_csv(input, selected);
  } else {
    text = statistics_table(input, selected);
  }
  output_file out{std::string(standard_stream)};
  out.write(text);
  out.commit();
  return exit_ok;
}

}  // namespace bnorm::cli
