#include "stats_command.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <iostream>

#include "error.hpp"
#include "exit_status.hpp"
#include "file_io.hpp"
#include "json_document.hpp"
#include "number_format.hpp"
#include "output_paths.hpp"
#include "parse_number.hpp"
#include "partial_stats.hpp"
#include "passes.hpp"
#include "run_feedback.hpp"
#include "stats_plot.hpp"

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
// Reuses the input's source: standard input cannot be read twice, and every source can.
tensor_statistics normalized_statistics(const stats_options& o, const bn_config& config,
                                        const tensor_source& source,
                                        const tensor_statistics& input) {
  state_file state = read_state(o.layer, config);
  const bn_plan plan = plan_batch_norm(source.info(), config, std::move(state.state), false,
                                       input.name, input_name(o.layer.state));
  note_plan(plan);
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

struct channel_range {
  std::size_t first, last;
};

// "0:8", "3:", ":4", "5": Python slice notation over channel indices, end exclusive.
channel_range parse_channels(const std::string& text, std::size_t channels) {
  if (text.empty()) return {0, channels};
  const std::size_t colon = text.find(':');
  const auto bound = [&](const std::string& part, std::size_t fallback) -> std::size_t {
    if (part.empty()) return fallback;
    const long long value = parse_integer(part, "--channels");
    const long long count = static_cast<long long>(channels);
    const long long resolved = value < 0 ? value + count : value;
    if (resolved < 0 || resolved > count) {
      throw data_error("--channels " + text + " is outside the " + std::to_string(channels) +
                       " channels");
    }
    return static_cast<std::size_t>(resolved);
  };
  if (colon == std::string::npos) {
    const std::size_t c = bound(text, 0);
    if (c >= channels) throw data_error("--channels " + text + " is outside the channels");
    return {c, c + 1};
  }
  const channel_range range{bound(text.substr(0, colon), 0),
                            bound(text.substr(colon + 1), channels)};
  if (range.first >= range.last) throw usage_error("--channels " + text + " selects no channel");
  return range;
}

std::string number(double value) {
  return format_number(value, dtype::float64());
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

json statistics_json(const tensor_statistics& s, channel_range range) {
  json doc;
  doc["file"] = s.name;
  doc["dtype"] = name_of(s.info.type);
  doc["shape"] = s.info.shape;
  doc["axis"] = s.layout.axis;
  doc["num_features"] = s.layout.channels;
  doc["count"] = s.layout.count_per_channel();
  if (range.first != 0 || range.last != s.layout.channels) {
    doc["channels"] = json::array({range.first, range.last});
  }
  const auto shown =
      std::span<const channel_moments>(s.channels).subspan(range.first, range.last - range.first);
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

std::string statistics_csv(const tensor_statistics& s, channel_range range) {
  std::string out = "channel,count,mean,var,var_unbiased,std,min,max,nonfinite\n";
  const auto row = [&](const std::string& label, const channel_moments& m) {
    out += label + "," + std::to_string(m.count) + "," + number(m.mean) + "," + number(m.var()) +
           "," + number(m.var_unbiased()) + "," + number(std::sqrt(m.var())) + "," + number(m.min) +
           "," + number(m.max) + "," + std::to_string(m.nonfinite) + "\n";
  };
  for (std::size_t c = range.first; c < range.last; ++c) row(std::to_string(c), s.channels[c]);
  row("all", s.all);
  return out;
}

std::string statistics_table(const tensor_statistics& s, channel_range range) {
  std::string out = s.name + ": " + name_of(s.info.type) + ", shape " +
                    shape_to_string(s.info.shape) + ", channel axis " +
                    std::to_string(s.layout.axis) + ": " + std::to_string(s.layout.channels) +
                    " channels of " + std::to_string(s.layout.count_per_channel()) + " values\n";
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
  const std::size_t count = range.last - range.first;
  constexpr std::size_t head = 20, tail = 10;
  for (std::size_t c = range.first; c < range.last; ++c) {
    const std::size_t i = c - range.first;
    if (count > head + tail + 10 && i == head) {
      out += "    ... " + std::to_string(count - head - tail) +
             " more channels (pick a range with --channels A:B)\n";
      c = range.last - tail - 1;
      continue;
    }
    row(std::to_string(c), s.channels[c]);
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
  cmd->add_option("--channels", o.channels, "Channels to show, as a Python slice: 0:8, 5, -4:")
      ->type_name("A:B");
  cmd->add_option("--plot", o.plot, "Also draw the statistics as an SVG picture")
      ->type_name("FILE.svg");
  cmd->add_flag("--partial", o.partial,
                "Print mergeable statistics (count, mean, m2 per channel) for bnorm merge");
  cmd->add_flag("--after", o.normalize_after,
                "Also normalize INPUT as apply would (the flags below) and show the result");
  add_layer_options(cmd, o.layer, layer_flags::inspect);
  return cmd;
}

int run_stats(const stats_options& o) {
  std::string format = o.format;
  if (format.empty()) format = ::isatty(STDOUT_FILENO) ? "table" : "json";
  if (o.partial && (!o.channels.empty() || !o.plot.empty())) {
    throw usage_error(
        "--partial describes every channel, for bnorm merge: no --channels or --plot");
  }
  if (format != "table" && format != "json" && format != "csv") {
    throw usage_error("--format takes table, json or csv, not '" + format + "'");
  }
  if (!o.after.empty() && o.normalize_after) {
    throw usage_error("give either a second input or --after, not both");
  }
  const bn_config config = make_config(o.layer);
  if (o.plot == standard_stream) {
    throw usage_error("--plot - would mix the picture with the report on standard output");
  }
  check_output_paths({{"INPUT", o.input}, {"AFTER", o.after}, {"--state", o.layer.state}},
                     {{"--plot", o.plot}, {"the report", std::string(standard_stream)}});
  if (o.input == standard_stream && o.layer.state == standard_stream) {
    throw usage_error("the input and --state cannot both be standard input");
  }
  const auto source =
      open_tensor(o.input, resolve_format(o.input, o.input_format, "--input-format"), o.tensor);
  note_layout(source->info(), batch_layout(source->info(), config.axis, input_name(o.input)));
  announce_passes({"statistics"});
  const tensor_statistics input = statistics_of(*source, o.input, config);
  const channel_range range = parse_channels(o.channels, input.layout.channels);

  if (!o.plot.empty()) {
    std::vector<plot_panel> panels{{input.name, input.channels}};
    if (o.normalize_after) {
      const tensor_statistics after = normalized_statistics(o, config, *source, input);
      panels.push_back({"after normalization (" + std::string(config.conv->name) + ", " +
                            (config.mode == bn_mode::train ? "train" : "eval") + " mode)",
                        after.channels});
    } else if (!o.after.empty()) {
      const auto after_source = open_tensor(o.after, resolve_format(o.after, "", ""));
      announce_passes({"statistics of " + input_name(o.after)});
      const tensor_statistics after = statistics_of(*after_source, o.after, config);
      if (after.layout.channels != input.layout.channels) {
        throw data_error(after.name + ": " + std::to_string(after.layout.channels) +
                         " channels, but " + input.name + " has " +
                         std::to_string(input.layout.channels));
      }
      panels.push_back({after.name, after.channels});
    }
    for (plot_panel& panel : panels) {
      panel.channels = {panel.channels.begin() + static_cast<std::ptrdiff_t>(range.first),
                        panel.channels.begin() + static_cast<std::ptrdiff_t>(range.last)};
      panel.first_channel = range.first;
    }
    output_file svg(o.plot);
    svg.write(stats_svg(input.name + ": shape " + shape_to_string(input.info.shape) + ", " +
                            name_of(input.info.type),
                        panels));
    svg.commit();
  }

  std::string text;
  if (o.partial) {
    nlohmann::ordered_json doc;
    doc["file"] = input.name;
    doc["dtype"] = name_of(input.info.type);
    doc["shape"] = input.info.shape;
    doc["axis"] = input.layout.axis;
    doc.update(partial_document(input.channels, false));
    text = format_json_document(doc);
  } else if (format == "json")
    text = format_json_document(statistics_json(input, range));
  if (format == "csv") text = statistics_csv(input, range);
  if (format == "table") text = statistics_table(input, range);
  output_file out{std::string(standard_stream)};
  out.write(text);
  out.commit();
  return exit_ok;
}

}  // namespace bnorm::cli
