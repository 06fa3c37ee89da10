// SPDX-License-Identifier: Apache-2.0
#include "layers_command.hpp"

#include <unistd.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "convention.hpp"
#include "count_text.hpp"
#include "csv_field.hpp"
#include "error.hpp"
#include "exit_status.hpp"
#include "file_io.hpp"
#include "file_names.hpp"
#include "json_document.hpp"
#include "layers_plot.hpp"
#include "model_layers.hpp"
#include "number_text.hpp"
#include "output_paths.hpp"
#include "parse_number.hpp"
#include "quoted_name.hpp"
#include "state_tensors.hpp"
#include "tensor_files.hpp"

namespace bnorm::cli {
namespace {

using json = nlohmann::ordered_json;

// The values summarized, in the order every report gives them.
struct summarized_role {
  const char* role;
  std::vector<double> model_layer::*values;
};
constexpr summarized_role summarized[] = {{"running_mean", &model_layer::running_mean},
                                          {"running_var", &model_layer::running_var},
                                          {"weight", &model_layer::weight},
                                          {"bias", &model_layer::bias}};

// The flags, with their keys in JSON and CSV and their heads in the table.
struct flag_column {
  const char* key;
  const char* head;
  std::size_t layer_flags_count::*count;
};
constexpr flag_column flag_columns[] = {{"var_zero", "var=0", &layer_flags_count::var_zero},
                                        {"var_nan", "NaN", &layer_flags_count::var_nan},
                                        {"var_inf", "Inf", &layer_flags_count::var_inf},
                                        {"var_negative", "var<0", &layer_flags_count::var_negative},
                                        {"gamma_small", "small", &layer_flags_count::gamma_small}};

// The layer's dtypes but its counter's, each once, in its tensors' order: "float32".
std::string value_dtypes(const model_layer& layer) {
  std::vector<std::string> types;
  for (const layer_tensor& t : layer.tensors) {
    if (t.role == "num_batches_tracked") continue;
    const std::string type = name_of(t.info.type);
    if (std::find(types.begin(), types.end(), type) == types.end()) types.push_back(type);
  }
  std::string text;
  for (const std::string& type : types) text += (text.empty() ? "" : "/") + type;
  return text;
}

// Whether the file says of some layer what its tensors do not (an ONNX node's epsilon and
// momentum): only then do the reports show them, so that a state_dict's stay as they were.
bool any_settings(const std::vector<model_layer>& layers) {
  return std::any_of(layers.begin(), layers.end(),
                     [](const model_layer& layer) { return layer.settings.has_value(); });
}

// A setting of `layer`, when the file gives it.
std::optional<double> setting(const model_layer& layer,
                              std::optional<double> layer_settings::*which) {
  if (!layer.settings) return std::nullopt;
  return (*layer.settings).*which;
}

json setting_json(std::optional<double> value) {
  return value ? json(*value) : json(nullptr);
}

std::size_t channel_total(const std::vector<model_layer>& layers) {
  std::size_t total = 0;
  for (const model_layer& layer : layers) total += layer.channels;
  return total;
}

// Four significant digits: enough to tell a layer's spread, and a table fits a wide terminal.
std::string four_digit_number(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value < 0 ? "-inf" : "inf";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.4g", value);
  return buffer;
}

json summary_json(const std::vector<double>& values) {
  const value_summary s = summarize(values);
  json j;
  j["min"] = s.min;
  j["max"] = s.max;
  j["mean"] = s.mean;
  j["median"] = s.median;
  j["nonfinite"] = s.nonfinite;
  return j;
}

json flags_json(const layer_flags_count& f) {
  json j;
  for (const flag_column& c : flag_columns) j[c.key] = f.*c.count;
  return j;
}

json layers_json(const std::string& file, const std::vector<model_layer>& layers, double threshold,
                 std::optional<double> percentile, bool values) {
  json doc;
  doc["file"] = file;
  doc["gamma_threshold"] = threshold;
  doc["gamma_percentile"] = percentile ? json(*percentile) : json(nullptr);
  doc["layers"] = json::array();
  for (const model_layer& layer : layers) {
    json j;
    j["prefix"] = layer.prefix;
    j["channels"] = layer.channels;
    json tensors = json::object();
    for (const layer_tensor& t : layer.tensors) {
      tensors[t.suffix] = {{"dtype", name_of(t.info.type)}, {"shape", t.info.shape}};
    }
    j["tensors"] = tensors;
    j["num_batches_tracked"] =
        layer.num_batches_tracked ? json(*layer.num_batches_tracked) : json(nullptr);
    if (layer.settings) {
      j["epsilon"] = setting_json(layer.settings->epsilon);
      j["momentum"] = setting_json(layer.settings->momentum);
      j["momentum_convention"] = layer.settings->convention;
    }
    for (const summarized_role& r : summarized) {
      const std::vector<double>& v = layer.*r.values;
      j[r.role] = v.empty() ? json(nullptr) : summary_json(v);
    }
    j["flags"] = flags_json(layer.flags);
    j["problem"] = layer.problem.empty() ? json(nullptr) : json(layer.problem);
    if (values) {
      json per_channel = json::object();
      for (const summarized_role& r : summarized) {
        const std::vector<double>& v = layer.*r.values;
        per_channel[r.role] = v.empty() ? json(nullptr) : json(v);
      }
      j["values"] = per_channel;
    }
    doc["layers"].push_back(j);
  }
  json total;
  total["layers"] = layers.size();
  total["channels"] = channel_total(layers);
  total.update(flags_json(total_flags(layers)));
  doc["total"] = total;
  return doc;
}

std::string layers_csv(const std::vector<model_layer>& layers) {
  const bool settings = any_settings(layers);
  std::string out = "prefix,channels,dtypes,num_batches_tracked";
  if (settings) out += ",epsilon,momentum,momentum_convention";
  for (const summarized_role& r : summarized) {
    for (const char* stat : {"min", "max", "mean", "median", "nonfinite"}) {
      out += "," + std::string(r.role) + "_" + stat;
    }
  }
  for (const flag_column& c : flag_columns) out += "," + std::string(c.key);
  out += ",problem\n";
  for (const model_layer& layer : layers) {
    out += csv_field(layer.prefix) + "," + std::to_string(layer.channels) + "," +
           value_dtypes(layer) + "," +
           (layer.num_batches_tracked ? std::to_string(*layer.num_batches_tracked) : "");
    if (settings) {
      for (const auto which : {&layer_settings::epsilon, &layer_settings::momentum}) {
        const std::optional<double> value = setting(layer, which);
        out += "," + (value ? number_text(*value) : std::string());
      }
      out += "," + (layer.settings ? csv_field(layer.settings->convention) : std::string());
    }
    for (const summarized_role& r : summarized) {
      const std::vector<double>& v = layer.*r.values;
      if (v.empty()) {
        out += ",,,,,";
        continue;
      }
      const value_summary s = summarize(v);
      out += "," + number_text(s.min) + "," + number_text(s.max) + "," + number_text(s.mean) + "," +
             number_text(s.median) + "," + std::to_string(s.nonfinite);
    }
    for (const flag_column& c : flag_columns) out += "," + std::to_string(layer.flags.*c.count);
    out += "," + csv_field(layer.problem) + "\n";
  }
  return out;
}

// How wide `text` shows: its UTF-8 characters (a prefix may hold any).
std::size_t text_width(const std::string& text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xc0) != 0x80;
  }));
}

std::string padded(const std::string& text, std::size_t width, bool left) {
  if (text_width(text) >= width) return text;
  const std::string fill(width - text_width(text), ' ');
  return left ? text + fill : fill + text;
}

// What the table's momentum means, in each convention its layers give one in.
std::string momentum_legend(const std::vector<model_layer>& layers) {
  std::vector<std::string> names;
  for (const model_layer& layer : layers) {
    if (!layer.settings || !layer.settings->momentum) continue;
    if (std::find(names.begin(), names.end(), layer.settings->convention) == names.end()) {
      names.push_back(layer.settings->convention);
    }
  }
  std::string text = "eps, momentum: as the file gives each layer";
  for (const std::string& name : names) {
    text += "; momentum under " + name + ": the " +
            std::string(describe(find_convention(name).meaning));
  }
  return text + "\n";
}

std::string layers_table(const std::string& file, const std::vector<model_layer>& layers,
                         double threshold, std::optional<double> percentile, bool per_channel) {
  const layer_flags_count total = total_flags(layers);
  std::string out = file + ": " + count_text(layers.size(), "batch-normalization layer") + ", " +
                    count_text(channel_total(layers), "channel") + "\n";
  const bool settings = any_settings(layers);
  std::vector<std::vector<std::string>> rows{{"layer", "channels", "dtype", "batches"}};
  if (settings) rows.front().insert(rows.front().end(), {"eps", "momentum"});
  rows.front().insert(rows.front().end(),
                      {"var min", "var max", "var med", "gamma min", "gamma max"});
  for (const flag_column& c : flag_columns) rows.front().push_back(c.head);
  const auto add_summary = [](std::vector<std::string>& row, const std::vector<double>& v,
                              bool median) {
    if (v.empty()) {
      row.insert(row.end(), median ? 3 : 2, "-");
      return;
    }
    const value_summary s = summarize(v);
    row.push_back(four_digit_number(s.min));
    row.push_back(four_digit_number(s.max));
    if (median) row.push_back(four_digit_number(s.median));
  };
  for (const model_layer& layer : layers) {
    std::vector<std::string> row{
        shown_prefix(layer.prefix), std::to_string(layer.channels), value_dtypes(layer),
        layer.num_batches_tracked ? std::to_string(*layer.num_batches_tracked) : "-"};
    if (settings) {
      for (const auto which : {&layer_settings::epsilon, &layer_settings::momentum}) {
        const std::optional<double> value = setting(layer, which);
        row.push_back(value ? number_text(*value) : "-");
      }
    }
    add_summary(row, layer.running_var, true);
    add_summary(row, layer.weight, false);
    for (const flag_column& c : flag_columns) row.push_back(std::to_string(layer.flags.*c.count));
    rows.push_back(std::move(row));
  }
  std::vector<std::string> all{"all", std::to_string(channel_total(layers))};
  all.resize(rows.front().size() - std::size(flag_columns));
  for (const flag_column& c : flag_columns) all.push_back(std::to_string(total.*c.count));
  rows.push_back(std::move(all));
  // Each column as wide as its widest cell: names first, left-aligned; numbers right-aligned.
  std::vector<std::size_t> widths(rows.front().size(), 0);
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], text_width(row[i]));
    }
  }
  for (const auto& row : rows) {
    std::string line = padded(row[0], widths[0], true);
    for (std::size_t i = 1; i < row.size(); ++i) line += " " + padded(row[i], widths[i], false);
    // The blanks of the "all" row would trail otherwise.
    line.erase(line.find_last_not_of(' ') + 1);
    out += line + "\n";
  }
  for (const model_layer& layer : layers) {
    if (!layer.problem.empty()) out += shown_prefix(layer.prefix) + ": " + layer.problem + "\n";
  }
  if (per_channel && layers.size() == 1) {
    const model_layer& layer = layers.front();
    out += padded("channel", 7, false);
    for (const summarized_role& r : summarized) out += " " + padded(r.role, 13, false);
    out += "\n";
    std::size_t channel_rows = 0;
    for (const summarized_role& r : summarized)
      channel_rows = std::max(channel_rows, (layer.*r.values).size());
    for (std::size_t c = 0; c < channel_rows; ++c) {
      out += padded(std::to_string(c), 7, false);
      for (const summarized_role& r : summarized) {
        const std::vector<double>& v = layer.*r.values;
        out += " " + padded(c < v.size() ? four_digit_number(v[c]) : "-", 13, false);
      }
      out += "\n";
    }
  }
  if (settings) out += momentum_legend(layers);
  out += "var=0: dead channels; NaN, Inf: broken running_var; var<0: invalid; small: |gamma| < " +
         number_text(threshold) +
         (percentile ? " (percentile " + number_text(*percentile) + " of every layer's |gamma|)"
                     : std::string()) +
         "\n";
  return out;
}

// A model is a file of named tensors; the formats that hold them are the registry's.
void refuse_one_tensor(const std::string& path, const codec& format) {
  if (format.holds_many) return;
  throw usage_error(input_name(path) + ": a model is " + named_formats() +
                    " file of named tensors, not one " + std::string(format.extensions.front()) +
                    " tensor");
}

}  // namespace

CLI::App* add_layers_command(CLI::App& app, layers_options& o) {
  CLI::App* cmd = app.add_subcommand(
      "layers",
      "Every batch-norm layer of a model: channels, dtypes, state summarized, dead channels.");
  cmd->add_option("MODEL", o.model,
                  "A model's named tensors, " + extension_names(", ", " or ", true) +
                      "; - reads standard input")
      ->type_name("FILE")
      ->required();
  cmd->add_option("--input-format", o.input_format,
                  "Format of MODEL (else told by its name and first bytes)")
      ->type_name(format_choices());
  cmd->add_option("--format", o.format, "Output format (default: table on a terminal, else json)")
      ->type_name("table|json|csv");
  cmd->add_option("--gamma-threshold", o.gamma_threshold,
                  "Flag channels whose |weight| is below T (default: " +
                      number_text(default_gamma_threshold) + ")")
      ->type_name("T");
  cmd->add_option("--gamma-percentile", o.gamma_percentile,
                  "Instead, flag the |weight| below this percentile of every layer's, 0 to 100")
      ->type_name("P");
  cmd->add_option("--prefix", o.prefix,
                  "Show only the layer of this prefix, with its values per channel")
      ->type_name("P");
  cmd->add_option("--plot", o.plot, "Also draw |weight| and running_var per layer as SVG")
      ->type_name("FILE.svg");
  o.command = cmd;
  return cmd;
}

layers_run resolve(const layers_options& o) {
  if (!o.format.empty() && o.format != "table" && o.format != "json" && o.format != "csv") {
    throw usage_error("--format takes table, json or csv, not '" + o.format + "'");
  }
  layers_run run;
  if (!o.gamma_threshold.empty()) {
    run.gamma_threshold = parse_finite(o.gamma_threshold, "--gamma-threshold");
    if (run.gamma_threshold < 0) {
      throw usage_error("--gamma-threshold takes a number >= 0, not '" + o.gamma_threshold + "'");
    }
  }
  if (!o.gamma_percentile.empty()) {
    if (!o.gamma_threshold.empty()) {
      throw usage_error("give either --gamma-threshold or --gamma-percentile, not both");
    }
    const double p = parse_finite(o.gamma_percentile, "--gamma-percentile");
    if (p < 0 || p > 100) {
      throw usage_error("--gamma-percentile takes a number from 0 to 100, not '" +
                        o.gamma_percentile + "'");
    }
    run.gamma_percentile = p;
  }
  if (o.plot == standard_stream) {
    throw usage_error("--plot - would mix the picture with the report on standard output");
  }
  check_output_paths({{"MODEL", o.model}},
                     {{"--plot", o.plot}, {"the report", std::string(standard_stream)}});
  run.model = o.model;
  run.model_format = input_format(o.model, o.input_format);
  // What the name (or the flag) says is refused before the file is read.
  const codec* told = run.model_format ? run.model_format : codec_for_path(o.model);
  if (told) refuse_one_tensor(o.model, *told);
  const std::string format = !o.format.empty()         ? o.format
                             : ::isatty(STDOUT_FILENO) ? "table"
                                                       : "json";
  run.report = format == "table" ? layers_report::table
               : format == "csv" ? layers_report::csv
                                 : layers_report::json;
  // Given, even empty: the layer of a state_dict saved from a lone BatchNorm has no prefix.
  if (o.command && o.command->count("--prefix") > 0) run.prefix = o.prefix;
  run.plot = o.plot;
  return run;
}

int run_layers(const layers_run& run) {
  const std::string name = input_name(run.model);
  refuse_directory(run.model);
  opened_input input = open_input(run.model, run.model_format);
  refuse_one_tensor(run.model, *input.format);
  const auto archive = input.format->open(std::move(input.file), {});
  // A format of named tensors may hold one tensor alone (torch.save(tensor)).
  if (!archive->names_tensors()) {
    throw usage_error(name + ": a model is " + named_formats() +
                      " file of named tensors, not one tensor");
  }
  std::vector<model_layer> layers = read_layers(*archive, run.gamma_threshold);
  double threshold = run.gamma_threshold;
  // Over every layer, as Network Slimming's global threshold, before --prefix picks one.
  if (run.gamma_percentile) {
    threshold = gamma_percentile(layers, *run.gamma_percentile, name);
    for (model_layer& layer : layers) layer.flags = flag_channels(layer, threshold);
  }
  if (run.prefix) {
    // As --state-prefix finds a layer: under DataParallel's and Lightning's wrappers, and
    // without its final dot.
    std::vector<std::string> prefixes;
    for (const model_layer& l : layers) prefixes.push_back(l.prefix);
    const std::optional<std::string> found = resolve_prefix(name, prefixes, *run.prefix);
    const auto it = std::find_if(layers.begin(), layers.end(),
                                 [&](const model_layer& l) { return found && l.prefix == *found; });
    if (it == layers.end()) {
      std::string known;
      for (std::size_t i = 0; i < layers.size() && i < 5; ++i) {
        known += (i > 0 ? ", " : "") + quoted_name(layers[i].prefix);
      }
      if (layers.size() > 5) known += ", ...";
      throw data_error(name + ": no batch-normalization layer has the prefix " +
                       quoted_name(*run.prefix) + "; its layers: " + known);
    }
    layers = {*it};
  }
  if (!run.plot.empty()) {
    output_file svg(run.plot);
    svg.write(layers_svg(name + ": " + count_text(layers.size(), "batch-normalization layer"),
                         layers, threshold));
    svg.commit();
  }
  const bool per_channel = run.prefix.has_value();
  std::string text;
  if (run.report == layers_report::json) {
    text = format_json_document(
        layers_json(name, layers, threshold, run.gamma_percentile, per_channel));
  } else if (run.report == layers_report::csv) {
    text = layers_csv(layers);
  } else {
    text = layers_table(name, layers, threshold, run.gamma_percentile, per_channel);
  }
  output_file out{std::string(standard_stream)};
  out.write(text);
  out.commit();
  return exit_ok;
}

}  // namespace bnorm::cli
