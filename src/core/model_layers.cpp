// SPDX-License-Identifier: Apache-2.0
#include "model_layers.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <unordered_set>

#include "count_text.hpp"
#include "error.hpp"
#include "quoted_name.hpp"
#include "state_tensors.hpp"
#include "utf8.hpp"

namespace bnorm {
namespace {

struct role_names {
  const char* role;
  const char* torch;
  const char* keras;  // nullptr: Keras has no such tensor
};

constexpr std::array<role_names, 5> roles{
    {{"weight", "weight", "gamma"},
     {"bias", "bias", "beta"},
     {"running_mean", "running_mean", "moving_mean"},
     {"running_var", "running_var", "moving_variance"},
     {"num_batches_tracked", "num_batches_tracked", nullptr}}};

// What the archive holds, for the message when no layer is found.
std::string holdings(const std::vector<std::string>& names) {
  if (names.empty()) return "it holds no tensor";
  std::string text = "it holds " + count_text(names.size(), "tensor") + ": ";
  constexpr std::size_t shown = 5;
  for (std::size_t i = 0; i < names.size() && i < shown; ++i) {
    text += (i > 0 ? ", " : "") + quoted_name(names[i]);
  }
  if (names.size() > shown) text += ", ...";
  return text;
}

std::string note(const std::string& problem, const std::string& more) {
  return problem.empty() ? more : problem + "; " + more;
}

}  // namespace

std::vector<layer_names> find_layer_names(const std::vector<std::string>& names) {
  const std::unordered_set<std::string> present(names.begin(), names.end());
  std::vector<layer_names> layers;
  std::unordered_set<std::string> seen;
  for (const std::string& name : names) {
    for (const bool keras : {false, true}) {
      const std::string_view mean = keras ? "moving_mean" : "running_mean";
      const std::string var = keras ? "moving_variance" : "running_var";
      if (!name.ends_with(mean)) continue;
      const std::string prefix = name.substr(0, name.size() - mean.size());
      if (!present.contains(prefix + var) || seen.contains(prefix)) continue;
      // PyTorch's names win where a prefix has both; Keras's are then other tensors.
      if (keras && present.contains(prefix + "running_mean") &&
          present.contains(prefix + "running_var")) {
        continue;
      }
      seen.insert(prefix);
      layer_names layer{prefix, {}};
      for (const role_names& r : roles) {
        const char* suffix = keras ? r.keras : r.torch;
        // num_batches_tracked is PyTorch's alone, so that a Keras layer saved by a PyTorch
        // port may still carry it.
        if (!suffix) suffix = r.torch;
        if (present.contains(prefix + suffix)) {
          layer.tensors.push_back({suffix, r.role, prefix + suffix, {}});
        }
      }
      layers.push_back(std::move(layer));
    }
  }
  return layers;
}

std::string shown_prefix(const std::string& prefix) {
  if (prefix.empty() || !is_valid_utf8(prefix)) return quoted_name(prefix);
  for (const char ch : prefix) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) return quoted_name(prefix);
  }
  return prefix;
}

value_summary summarize(const std::vector<double>& values) {
  value_summary s;
  s.count = values.size();
  std::vector<double> finite;
  finite.reserve(values.size());
  for (double v : values) {
    if (std::isfinite(v)) finite.push_back(v);
  }
  s.nonfinite = values.size() - finite.size();
  if (finite.empty()) {
    s.min = s.max = s.mean = s.median = NAN;
    return s;
  }
  // Compensated, so that a mean over millions of channels does not drift.
  double sum = 0, compensation = 0;
  for (double v : finite) {
    const double y = v - compensation;
    const double t = sum + y;
    compensation = (t - sum) - y;
    sum = t;
  }
  s.mean = sum / static_cast<double>(finite.size());
  std::sort(finite.begin(), finite.end());
  s.min = finite.front();
  s.max = finite.back();
  const std::size_t half = finite.size() / 2;
  // NumPy's median: the middle value, or the mean of the two middle values.
  s.median = finite.size() % 2 == 1 ? finite[half] : finite[half - 1] / 2 + finite[half] / 2;
  return s;
}

layer_flags_count flag_channels(const model_layer& layer, double gamma_threshold) {
  layer_flags_count f;
  for (double v : layer.running_var) {
    if (std::isnan(v)) {
      ++f.var_nan;
    } else if (std::isinf(v)) {
      ++f.var_inf;
    } else if (v == 0) {
      ++f.var_zero;
    } else if (v < 0) {
      ++f.var_negative;
    }
  }
  for (double w : layer.weight) {
    if (std::fabs(w) < gamma_threshold) ++f.gamma_small;
  }
  return f;
}

double gamma_percentile(const std::vector<model_layer>& layers, double percentile,
                        const std::string& file) {
  std::vector<double> gammas;
  for (const model_layer& layer : layers) {
    for (double w : layer.weight) {
      if (std::isfinite(w)) gammas.push_back(std::fabs(w));
    }
  }
  if (gammas.empty()) {
    throw data_error(file +
                     ": no batch-normalization layer has a finite weight to take a "
                     "percentile of");
  }
  std::sort(gammas.begin(), gammas.end());
  // NumPy's steps, so that the threshold is its number to the last bit: the virtual index
  // (n - 1) * q, and its lerp, taken from the upper neighbour from halfway on.
  const double index = static_cast<double>(gammas.size() - 1) * (percentile / 100);
  const double below = std::floor(index);
  const double t = index - below;
  const auto lower = static_cast<std::size_t>(below);
  const std::size_t upper = std::min(lower + 1, gammas.size() - 1);
  const double a = gammas[lower], b = gammas[upper], difference = b - a;
  return t >= 0.5 ? b - difference * (1 - t) : a + difference * t;
}

layer_flags_count total_flags(const std::vector<model_layer>& layers) {
  layer_flags_count t;
  for (const model_layer& layer : layers) {
    t.var_zero += layer.flags.var_zero;
    t.var_nan += layer.flags.var_nan;
    t.var_inf += layer.flags.var_inf;
    t.var_negative += layer.flags.var_negative;
    t.gamma_small += layer.flags.gamma_small;
  }
  return t;
}

std::vector<model_layer> read_layers(const tensor_archive& archive, double gamma_threshold) {
  const std::vector<std::string> names = archive.names();
  const std::vector<layer_names> found = find_layer_names(names);
  if (found.empty()) {
    throw data_error(archive.file_name() +
                     ": no batch-normalization layer (no running_mean beside a running_var, "
                     "nor Keras's moving_mean beside a moving_variance); " +
                     holdings(names));
  }
  std::vector<model_layer> layers;
  for (const layer_names& f : found) {
    model_layer layer;
    layer.prefix = f.prefix;
    layer.settings = archive.settings_of(f.prefix);
    for (layer_tensor t : f.tensors) {
      const auto source = archive.open(t.name);
      t.info = source->info();
      t.info.name = t.name;
      const tensor_info& info = t.info;
      layer.tensors.push_back(t);
      if (t.role == "num_batches_tracked") {
        std::optional<std::int64_t> count;
        if (info.element_count() == 1) {
          if (info.type.kind == scalar_kind::signed_int ||
              info.type.kind == scalar_kind::unsigned_int) {
            // Read as the integer it is: through a double, 2^53 + 1 would become 2^53.
            count = source->read_int64_at(0);
          } else {
            double value = 0;
            source->read_at(0, std::span<double>(&value, 1));
            if (value >= 0 && value < 0x1p63 && value == std::floor(value)) {
              count = static_cast<std::int64_t>(value);
            }
          }
        }
        if (count && *count >= 0) {
          layer.num_batches_tracked = count;
        } else {
          layer.problem = note(layer.problem, t.suffix + " is not one non-negative integer");
        }
        continue;
      }
      if (info.shape.size() != 1) {
        layer.problem = note(layer.problem, t.suffix + " has shape " + shape_to_string(info.shape) +
                                                ", not one value per channel");
        continue;
      }
      // Decoded to double, a value costs 8 bytes whatever its file type: no layer has this
      // many channels, and a forged length must not be decoded whole.
      if (info.element_count() > max_state_channels) {
        layer.problem =
            note(layer.problem, t.suffix + " has " + std::to_string(info.element_count()) +
                                    " values, more than a layer has channels");
        continue;
      }
      std::vector<double> values(info.element_count());
      source->read_at(0, values);
      if (t.role == "weight") layer.weight = std::move(values);
      if (t.role == "bias") layer.bias = std::move(values);
      if (t.role == "running_mean") layer.running_mean = std::move(values);
      if (t.role == "running_var") layer.running_var = std::move(values);
    }
    layer.channels = layer.running_mean.size();
    const std::string mean_suffix = [&] {
      for (const layer_tensor& t : layer.tensors) {
        if (t.role == "running_mean") return t.suffix;
      }
      return std::string("running_mean");
    }();
    for (const layer_tensor& t : layer.tensors) {
      const std::vector<double>* values = t.role == "weight"        ? &layer.weight
                                          : t.role == "bias"        ? &layer.bias
                                          : t.role == "running_var" ? &layer.running_var
                                                                    : nullptr;
      if (!values || values->empty() || layer.running_mean.empty()) continue;
      if (values->size() != layer.channels) {
        layer.problem =
            note(layer.problem, t.suffix + " has " + count_text(values->size(), "value") + ", " +
                                    mean_suffix + " " + std::to_string(layer.channels));
      }
    }
    layer.flags = flag_channels(layer, gamma_threshold);
    layers.push_back(std::move(layer));
  }
  return layers;
}

}  // namespace bnorm
